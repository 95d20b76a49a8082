// VIP arrival alerts: the hub sends `vip_arrived` once per visit to every tablet of the store.
// The alert is prominent but never blocks the floor: a stack above the cards, announced to
// screen readers, with "Show" (scroll to and focus the card) and "Dismiss". It goes by itself
// after a while, at once when the shopper leaves, and stays while the associate is in it.

import { h, titleCase } from "./format.js";

// Long enough to look up from a customer; short enough not to pile up on a busy Saturday.
const AUTO_DISMISS_MS = 45_000;
// A short double buzz: felt in a pocket or an apron, not mistaken for a call.
const VIBRATION_MS = [180, 90, 180];

function alertText(alert) {
  const name = typeof alert.name === "string" && alert.name ? alert.name : "A VIP shopper";
  const zone = typeof alert.zone === "string" && alert.zone ? ` — ${alert.zone}` : "";
  return `${name} just arrived${zone}`;
}

function tierLine(alert) {
  const tier = typeof alert.tier === "string" ? alert.tier.trim() : "";
  if (!tier || tier.toLowerCase() === "vip") return null;
  return h("p", { class: "vip-alert__tier", text: `${titleCase(tier)} tier` });
}

function buzz() {
  try {
    navigator.vibrate?.(VIBRATION_MS);
  } catch {
    // Not supported or not allowed before a first touch: the alert itself still shows.
  }
}

function notificationsSupported() {
  return "Notification" in window;
}

/**
 * Listen for `vip_arrived` on `socket` and show alerts in `region`.
 * `showCard(visitId)` scrolls to and focuses the shopper's card; `allowButton` (optional) asks
 * for permission to notify while the page is hidden.
 */
export function startVipAlerts({ socket, region, allowButton, showCard }) {
  /** visit_id -> {el, timer, notification} of the alerts on screen. */
  const shown = new Map();
  // Once per visit on this page too: a repeated event (a hub retry) never stacks a second one.
  const seen = new Set();

  function dismiss(visitId) {
    const entry = shown.get(visitId);
    if (!entry) return;
    shown.delete(visitId);
    clearTimeout(entry.timer);
    entry.notification?.close();
    const hadFocus = entry.el.contains(document.activeElement);
    entry.el.remove();
    // Focus must not fall to the page's top when the alert it was in goes away.
    if (hadFocus) document.querySelector("main")?.focus({ preventScroll: true });
  }

  function schedule(visitId) {
    const entry = shown.get(visitId);
    if (!entry) return;
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => dismiss(visitId), AUTO_DISMISS_MS);
  }

  function notify(alert, text) {
    if (!document.hidden || !notificationsSupported() || Notification.permission !== "granted") {
      return null;
    }
    try {
      const notification = new Notification(`VIP · ${alert.name || "VIP shopper"}`, {
        body: text,
        tag: `vip-${alert.visit_id}`,
      });
      notification.onclick = () => {
        window.focus();
        showCard(alert.visit_id);
        dismiss(alert.visit_id);
      };
      return notification;
    } catch {
      return null; // Android Chrome shows notifications only from a service worker
    }
  }

  function show(alert) {
    if (!alert || typeof alert.visit_id !== "string" || seen.has(alert.visit_id)) return;
    seen.add(alert.visit_id);
    const text = alertText(alert);
    const el = h(
      "div",
      { class: "vip-alert", "data-testid": "vip-alert", "data-visit-id": alert.visit_id },
      h(
        "p",
        { class: "vip-alert__text", role: "alert", "data-testid": "vip-alert-text" },
        h("span", { class: "vip-alert__badge", text: "VIP" }),
        ` · ${text}`,
      ),
      tierLine(alert),
      h(
        "div",
        { class: "vip-alert__actions" },
        h("button", {
          type: "button",
          class: "button button--primary",
          "data-vip-action": "show",
          "data-testid": "vip-alert-show",
          text: "Show",
        }),
        h("button", {
          type: "button",
          class: "button vip-alert__dismiss",
          "data-vip-action": "dismiss",
          "data-testid": "vip-alert-dismiss",
          "aria-label": `Dismiss the alert about ${alert.name || "the VIP"}`,
          text: "Dismiss",
        }),
      ),
    );
    region.append(el);
    shown.set(alert.visit_id, { el, timer: 0, notification: notify(alert, text) });
    schedule(alert.visit_id);
    buzz();
  }

  region.addEventListener("click", (event) => {
    const button = event.target.closest("[data-vip-action]");
    const alertEl = button && button.closest(".vip-alert");
    if (!alertEl) return;
    const visitId = alertEl.dataset.visitId;
    if (button.dataset.vipAction === "show" && !showCard(visitId)) return;
    dismiss(visitId);
  });
  // Reading or about to tap it: it waits; it counts down again once the associate moves on.
  region.addEventListener("focusin", (event) => {
    const entry = shown.get(event.target.closest(".vip-alert")?.dataset.visitId);
    if (entry) clearTimeout(entry.timer);
  });
  region.addEventListener("focusout", (event) => {
    const alertEl = event.target.closest(".vip-alert");
    if (alertEl && !alertEl.contains(event.relatedTarget)) schedule(alertEl.dataset.visitId);
  });

  if (allowButton && notificationsSupported()) {
    const refresh = () => {
      allowButton.hidden = Notification.permission !== "default";
    };
    allowButton.addEventListener("click", async () => {
      try {
        await Notification.requestPermission();
      } finally {
        refresh();
      }
    });
    refresh();
  }

  socket.on("vip_arrived", show);
  socket.on("departed", (departure) => dismiss(departure && departure.visit_id));
  // After a reconnect the floor is the truth: an alert for someone no longer there goes.
  socket.on("floor", (floor) => {
    const present = new Set(
      (Array.isArray(floor && floor.shoppers) ? floor.shoppers : []).map((c) => c && c.visit_id),
    );
    for (const visitId of [...shown.keys()]) if (!present.has(visitId)) dismiss(visitId);
  });
}
