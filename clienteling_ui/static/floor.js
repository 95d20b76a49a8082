// The associate's floor: a live list of the opted-in shoppers in one store, fed over Socket.IO.
// Every piece of shopper data reaches the page through textContent or a checked attribute,
// never through markup.

import { quietText, renderCard } from "./card.js";
import { wireClaims } from "./claims.js";
import { mountCodeEntry } from "./code_entry.js";
import { FloorLayout } from "./floor_layout.js";
import { SORT_ZONE, newestFirst, zoneKeyOf } from "./floor_order.js";
import { mountSortControl, storedSortMode } from "./floor_sort.js";
import { formatElapsed, h, parseTime, plural, serverNow, setServerTime } from "./format.js";
import { startIdleLock } from "./idle_lock.js";
import { openLiveSocket } from "./live_socket.js";
import { wireOfferSend } from "./offer_send.js";
import { mountCustomerSearch } from "./search.js";
import { startVipAlerts } from "./vip_alert.js";

const VENDOR_URL = new URL("./vendor/socket.io.esm.min.js", import.meta.url);
const NOT_BUILT = "UI assets not built: run scripts/build_ui.sh";
const NAMESPACE = "/floor";
const TICK_MS = 15_000;
// Matches the leave animation in floor.css; the timer covers a missed animationend.
const LEAVE_MS = 450;

const body = document.body;
const storeId = body.dataset.storeId;
const ui = {
  list: document.querySelector('[data-testid="shopper-list"]'),
  empty: document.querySelector('[data-testid="empty-state"]'),
  loading: document.querySelector('[data-testid="loading-state"]'),
  count: document.querySelector('[data-testid="shopper-count"]'),
  status: document.querySelector('[data-testid="connection-status"]'),
  offline: document.querySelector('[data-testid="offline-banner"]'),
  error: document.querySelector('[data-testid="error-banner"]'),
  main: document.querySelector("main"),
  sortSlot: document.querySelector(".tools__slot--sort"),
  vipAlerts: document.querySelector('[data-testid="vip-alerts"]'),
  allowAlerts: document.querySelector('[data-testid="allow-alerts"]'),
};
const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

/** visit_id -> {card, el} for the shoppers present; leaving cards are already gone from here. */
const shoppers = new Map();
const layout = new FloorLayout(ui.list);
let sortMode = storedSortMode();
// The store's zones in floor order, from the last snapshot (older hubs send none).
let zones = [];
let snapshotPending = true;
// Events that arrive before the floor they apply to; replayed over it once it lands.
let heldEvents = [];
let liveSocket = null;
// Cards this page has shown, so each is recorded once for the audit log (view_card).
const viewedVisits = new Set();

/** Tell the hub this tablet shows a shopper's card (the card has no expand: shown is viewed). */
function recordView(card) {
  if (viewedVisits.has(card.visit_id) || !liveSocket || !liveSocket.connected) return;
  viewedVisits.add(card.visit_id);
  liveSocket.emit("view_card", { visit_id: card.visit_id });
}

// ---------------------------------------------------------------------------------------------
// State changes

function refreshSummary() {
  const loaded = !ui.loading || ui.loading.hidden;
  const count = shoppers.size;
  ui.count.textContent = !loaded
    ? ""
    : count === 0
      ? "No shoppers"
      : plural(count, "shopper", "shoppers");
  ui.empty.hidden = !loaded || count !== 0;
}

/** Put every card where the chosen order wants it (moves only what is out of place). */
function arrange() {
  layout.arrange([...shoppers.values()], sortMode, zones);
}

function showFloor(floor) {
  const serverTime = parseTime(floor.server_time);
  if (serverTime !== null) setServerTime(serverTime);
  shoppers.clear();
  if (Array.isArray(floor.zones)) zones = floor.zones;
  const cards = Array.isArray(floor.shoppers) ? floor.shoppers.filter(Boolean) : [];
  for (const card of cards.sort(newestFirst)) {
    if (!card.visit_id || shoppers.has(card.visit_id)) continue;
    shoppers.set(card.visit_id, { card, el: renderCard(card) });
    recordView(card);
  }
  layout.reset();
  arrange();
  if (ui.loading) ui.loading.hidden = true;
  ui.main.setAttribute("aria-busy", "false");
  snapshotPending = false;
  const held = heldEvents;
  heldEvents = [];
  for (const [kind, payload] of held) applyEvent(kind, payload);
  refreshSummary();
}

function highlight(el) {
  el.classList.add("is-new");
  el.addEventListener("animationend", () => el.classList.remove("is-new"), { once: true });
}

function arrived(card) {
  if (!card || !card.visit_id) return;
  const existing = shoppers.get(card.visit_id);
  const el = renderCard(card);
  if (existing) existing.el.replaceWith(el);
  shoppers.set(card.visit_id, { card, el });
  arrange();
  recordView(card);
  if (!existing) highlight(el);
}

function cardUpdated(card) {
  if (!card || !card.visit_id) return;
  const el = renderCard(card);
  const existing = shoppers.get(card.visit_id);
  shoppers.set(card.visit_id, { card, el });
  recordView(card);
  if (existing) {
    // A colleague's update must not wipe a note this associate is still typing.
    const draft = existing.el.querySelector(".notes__input");
    const input = el.querySelector(".notes__input");
    if (draft && input) input.value = draft.value;
    // Keep a keyboard user's place: focus moves to the same action on the redrawn card.
    const focused = existing.el.contains(document.activeElement)
      ? document.activeElement.dataset.action
      : null;
    existing.el.replaceWith(el);
    const again = focused && el.querySelector(`[data-action="${focused}"]`);
    if (again) again.focus();
    else if (focused) el.querySelector("button")?.focus();
  }
  // A zone change may move the card to another group; a missed arrival gets its place.
  arrange();
  const moved = existing && zoneKeyOf(existing.card, zones) !== zoneKeyOf(card, zones);
  if (moved && sortMode === SORT_ZONE) highlight(el);
}

function departed(departure) {
  const entry = departure && shoppers.get(departure.visit_id);
  if (!entry) return;
  shoppers.delete(departure.visit_id);
  const el = entry.el;
  if (reducedMotion.matches) {
    el.remove();
    arrange();
    return;
  }
  el.classList.add("is-leaving");
  el.setAttribute("aria-hidden", "true");
  arrange(); // counts and groups follow at once; the card fades where it was
  const remove = () => {
    if (!el.isConnected) return;
    el.remove();
    arrange(); // a zone group emptied by this departure goes with its last card
  };
  el.addEventListener("animationend", remove, { once: true });
  setTimeout(remove, LEAVE_MS + 100);
}

/** Scroll to a shopper's card and focus it (the VIP alert's "Show"); false if not on the floor. */
function showCard(visitId) {
  const entry = shoppers.get(visitId);
  if (!entry) return false;
  entry.el.setAttribute("tabindex", "-1");
  entry.el.scrollIntoView({ block: "center", behavior: reducedMotion.matches ? "auto" : "smooth" });
  entry.el.focus({ preventScroll: true });
  return true;
}

function applyEvent(kind, payload) {
  if (kind === "arrived") arrived(payload);
  else if (kind === "card_updated") cardUpdated(payload);
  else if (kind === "departed") departed(payload);
}

function onFloorEvent(kind, payload) {
  if (snapshotPending) {
    heldEvents.push([kind, payload]);
    return;
  }
  applyEvent(kind, payload);
  refreshSummary();
}

function tick() {
  const now = serverNow();
  for (const el of ui.list.querySelectorAll("[data-arrived-at]")) {
    el.textContent = formatElapsed(now - Number(el.dataset.arrivedAt));
  }
  for (const el of ui.list.querySelectorAll("[data-quiet-since]")) {
    el.textContent = quietText(now - Number(el.dataset.quietSince));
  }
}

// ---------------------------------------------------------------------------------------------
// Connection

function setStatus(kind, text) {
  ui.status.dataset.state = kind;
  ui.status.querySelector(".status__text").textContent = text;
}

function showError(message) {
  ui.error.textContent = message;
  ui.error.hidden = false;
}

function connect(io) {
  const socket = openLiveSocket(io, {
    namespace: NAMESPACE,
    storeId,
    isSnapshotPending: () => snapshotPending,
    setStatus,
    offline: ui.offline,
    onConnect: () => {
      ui.error.hidden = true;
    },
    onDisconnect: () => {
      snapshotPending = true;
      // Held events belong to a floor that never came; the next floor supersedes them.
      heldEvents = [];
    },
    onRefused: (message) => {
      showError(`Cannot show this store's floor: ${message}`);
      if (ui.loading) ui.loading.hidden = true;
    },
  });
  socket.on("floor", showFloor);
  socket.on("arrived", (card) => onFloorEvent("arrived", card));
  socket.on("card_updated", (card) => onFloorEvent("card_updated", card));
  socket.on("departed", (departure) => onFloorEvent("departed", departure));
  return socket;
}

async function start() {
  let io;
  try {
    ({ io } = await import(VENDOR_URL.href));
  } catch (error) {
    console.error(error);
    setStatus("error", "Not connected");
    showError(NOT_BUILT);
    if (ui.loading) ui.loading.hidden = true;
    return;
  }
  liveSocket = connect(io);
  wireClaims(ui.list, () => liveSocket, h);
  wireOfferSend(ui.list, () => liveSocket, h);
  mountCodeEntry(document.querySelector(".tools__slot--code"), () => liveSocket, h);
  mountCustomerSearch(document.querySelector(".tools__slot--search"), () => liveSocket);
  mountSortControl(ui.sortSlot, sortMode, (mode) => {
    sortMode = mode;
    arrange();
  });
  startVipAlerts({
    socket: liveSocket,
    region: ui.vipAlerts,
    allowButton: ui.allowAlerts,
    showCard,
  });
  startIdleLock({
    lockMs: Number(body.dataset.idleLockMs),
    overlay: document.querySelector('[data-testid="idle-lock"]'),
    form: document.querySelector('[data-testid="unlock-form"]'),
    problem: document.querySelector('[data-testid="unlock-problem"]'),
  });
  setInterval(tick, TICK_MS);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) tick();
  });
}

start();
