// The demo's shopper wallet: consents and enrollment, the advertised token, Web Push through a
// service worker, and the offers with QR codes. Built with textContent only; the hub's demo
// routes under /wallet/api do what the retailer's app back end would.

const API = "/wallet/api";
const QR_URL = new URL("./vendor/qrcode-generator.mjs", import.meta.url);
const TOKEN_POLL_MS = 5_000;
const OFFERS_POLL_MS = 5_000;
const SVG_NS = "http://www.w3.org/2000/svg";
const QUIET_ZONE = 4; // modules of white around a QR code, as scanners expect

const body = document.body;
const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
const ui = {
  error: $("error-banner"),
  form: $("consent-form"),
  wallet: $("wallet"),
  customer: $("customer-id"),
  consents: $("consents"),
  token: $("token"),
  rotation: $("token-rotation"),
  walkIn: $("walk-in"),
  walkStatus: $("walk-status"),
  pushStatus: $("push-status"),
  pushButton: $("push-button"),
  offersSection: $("offers-section"),
  offersEmpty: $("offers-empty"),
  offers: $("offers"),
  enrollSharing: $("enroll-sharing"),
  sharingForm: $("sharing-form"),
  sharingStatus: $("sharing-status"),
};
let qrcode = null;

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") el.textContent = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  el.append(...children.filter((child) => child !== null && child !== undefined));
  return el;
}

function showError(message) {
  ui.error.textContent = message;
  ui.error.hidden = !message;
}

async function api(path, { method = "GET", json } = {}) {
  const response = await fetch(`${API}${path}`, {
    method,
    credentials: "same-origin",
    headers: json === undefined ? { Accept: "application/json" } : {
      Accept: "application/json",
      "Content-Type": "application/json",
    },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data?.error?.message || `the hub answered ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

// ---------------------------------------------------------------------------------------------
// What staff may see (the hub's card_sharing: each part shared unless unticked)

const SHARING = ["sizes", "wishlist_and_cart", "purchase_history", "contact"];
const SHARING_WORDS = {
  sizes: "sizes",
  wishlist_and_cart: "wishlist and cart",
  purchase_history: "purchases",
  contact: "email",
};

function sharingFrom(container) {
  const choice = {};
  for (const name of SHARING) {
    const box = container.querySelector(`input[name="${name}"]`);
    choice[name] = Boolean(box && box.checked);
  }
  return choice;
}

function showSharing(container, sharing) {
  for (const name of SHARING) {
    const box = container.querySelector(`input[name="${name}"]`);
    if (box) box.checked = !sharing || sharing[name] !== false;
  }
}

function sharingText(sharing) {
  const kept = SHARING.filter((name) => sharing && sharing[name] === false);
  const words = kept.map((name) => SHARING_WORDS[name]).join(", ");
  return kept.length ? ` Staff do not see your ${words}.` : "";
}

// The finer choices only mean something while staff may see the shopper at all.
const associateView = ui.form.querySelector('input[name="associate_view"]');
associateView.addEventListener("change", () => {
  ui.enrollSharing.disabled = !associateView.checked;
});

ui.sharingForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = ui.sharingForm.querySelector("button");
  button.disabled = true;
  try {
    const choice = sharingFrom(ui.sharingForm);
    const saved = await api("/card-sharing", { method: "PUT", json: choice });
    showSharing(ui.sharingForm, saved.card_sharing);
    const kept = sharingText(saved.card_sharing) || " Staff see all of it.";
    ui.sharingStatus.textContent = `Saved.${kept}`;
    ui.consents.textContent = consentText(saved.consents, saved.card_sharing);
  } catch (error) {
    ui.sharingStatus.textContent = `Could not save: ${error.message}`;
  } finally {
    button.disabled = false;
  }
});

// ---------------------------------------------------------------------------------------------
// Enrollment

function consentText(consents, sharing) {
  const given = [];
  if (consents.presence) given.push("recognised in store");
  if (consents.offers) given.push("offers");
  if (consents.associate_view) given.push("help from staff");
  if (!given.length) return "You agreed to nothing yet.";
  const kept = consents.associate_view ? sharingText(sharing) : "";
  return `You agreed to: ${given.join(", ")}.${kept}`;
}

function showWallet(device) {
  body.dataset.state = "enrolled";
  ui.form.hidden = true;
  ui.wallet.hidden = false;
  ui.offersSection.hidden = false;
  ui.customer.textContent = device.customer_id;
  ui.consents.textContent = consentText(device.consents, device.card_sharing);
  ui.sharingForm.hidden = !device.consents.associate_view;
  showSharing(ui.sharingForm, device.card_sharing);
  body.dataset.presence = String(device.consents.presence);
  ui.walkIn.disabled = !device.consents.presence;
  refreshToken();
  refreshOffers();
  showPushState();
}

ui.form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(ui.form);
  try {
    const device = await api("/enroll", {
      method: "POST",
      json: {
        customer_id: String(data.get("customer_id") || "").trim(),
        consents: {
          presence: data.has("presence"),
          offers: data.has("offers"),
          associate_view: data.has("associate_view"),
        },
        card_sharing: sharingFrom(ui.enrollSharing),
      },
    });
    showError("");
    showWallet(device);
  } catch (error) {
    showError(`Could not join: ${error.message}`);
  }
});

// ---------------------------------------------------------------------------------------------
// The advertised token

let tokenTimer = 0;

async function refreshToken() {
  window.clearTimeout(tokenTimer);
  try {
    const token = await api("/token");
    ui.token.textContent = token.token;
    ui.token.dataset.token = token.token;
    ui.rotation.textContent =
      `A new code every ${Math.round(token.rotation_s / 60)} min; this one for ` +
      `${token.seconds_to_rotation} s more.`;
    // Ask again just after the window rolls, and every few seconds for the countdown.
    const next = Math.min(TOKEN_POLL_MS, token.seconds_to_rotation * 1000 + 200);
    tokenTimer = window.setTimeout(refreshToken, next);
  } catch (error) {
    ui.token.textContent = "–";
    tokenTimer = window.setTimeout(refreshToken, TOKEN_POLL_MS);
  }
}

ui.walkIn.addEventListener("click", async () => {
  ui.walkIn.disabled = true;
  try {
    await api("/walk-in", { method: "POST", json: {} });
    ui.walkStatus.textContent = "Walking in… the door sensor can hear your phone now.";
    body.dataset.walkedIn = "true";
  } catch (error) {
    ui.walkStatus.textContent = `Could not walk in: ${error.message}`;
  } finally {
    window.setTimeout(() => (ui.walkIn.disabled = body.dataset.presence !== "true"), 3_000);
  }
});

// ---------------------------------------------------------------------------------------------
// Web Push

function pushSupported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

async function registration() {
  return navigator.serviceWorker.register(body.dataset.swUrl, {
    scope: body.dataset.swScope,
    type: "classic",
  });
}

async function showPushState() {
  if (!pushSupported()) {
    ui.pushStatus.textContent = "This browser cannot receive offer notifications.";
    ui.pushButton.hidden = true;
    return;
  }
  const existing = await navigator.serviceWorker.getRegistration(body.dataset.swScope);
  const subscription = existing ? await existing.pushManager.getSubscription() : null;
  ui.pushStatus.textContent = subscription ? "On" : "Off";
  ui.pushButton.hidden = Boolean(subscription);
}

ui.pushButton.addEventListener("click", async () => {
  ui.pushButton.disabled = true;
  try {
    const permission = await Notification.requestPermission();
    if (permission !== "granted") throw new Error("notifications are blocked for this page");
    const worker = await registration();
    await navigator.serviceWorker.ready;
    const vapid = await fetch("/api/v1/push/vapid-public-key").then((r) => r.json());
    const subscription = await worker.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: vapid.application_server_key,
    });
    // Only what the hub's push registration takes (not expirationTime).
    const { endpoint, keys } = subscription.toJSON();
    await api("/push", { method: "PUT", json: { endpoint, keys } });
    ui.pushStatus.textContent = "On";
    ui.pushButton.hidden = true;
    body.dataset.push = "subscribed";
  } catch (error) {
    ui.pushStatus.textContent = `Could not turn on notifications: ${error.message}`;
  } finally {
    ui.pushButton.disabled = false;
  }
});

if ("serviceWorker" in navigator) {
  // The worker says when an offer arrived by push: show it without waiting for the next poll.
  navigator.serviceWorker.addEventListener("message", (event) => {
    if (event.data?.type === "offer") refreshOffers();
  });
}

// ---------------------------------------------------------------------------------------------
// Offers with QR codes

function qrSvg(text) {
  const qr = qrcode(0, "M");
  qr.addData(text, "Byte");
  qr.make();
  const count = qr.getModuleCount();
  const size = count + 2 * QUIET_ZONE;
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
  svg.setAttribute("class", "qr");
  svg.setAttribute("shape-rendering", "crispEdges");
  svg.setAttribute("data-modules", String(count));
  const background = document.createElementNS(SVG_NS, "rect");
  background.setAttribute("width", String(size));
  background.setAttribute("height", String(size));
  background.setAttribute("fill", "#fff");
  const dark = [];
  for (let row = 0; row < count; row += 1) {
    for (let col = 0; col < count; col += 1) {
      if (qr.isDark(row, col)) dark.push(`M${col + QUIET_ZONE} ${row + QUIET_ZONE}h1v1h-1z`);
    }
  }
  const modules = document.createElementNS(SVG_NS, "path");
  modules.setAttribute("d", dark.join(""));
  modules.setAttribute("fill", "#000");
  svg.append(background, modules);
  return svg;
}

function offerItem(offer) {
  const expires = new Intl.DateTimeFormat(undefined, { timeStyle: "short" }).format(
    Date.parse(offer.expires_at),
  );
  const figure = h("figure", {
    class: "offer__qr",
    "data-testid": "offer-qr",
    "data-qr-token": offer.qr_token || "",
    role: "img",
    "aria-label": `QR code for ${offer.code}`,
  });
  if (offer.qr_token && qrcode) figure.append(qrSvg(offer.qr_token));
  return h(
    "li",
    { class: "offer", "data-testid": "offer", "data-offer-id": offer.offer_id, "data-status": offer.status },
    h("h3", { text: offer.title }),
    h("p", { text: offer.description }),
    figure,
    h("p", { class: "offer__code", "data-testid": "offer-code", text: offer.code }),
    h("p", { class: "muted", text: `${offer.status === "redeemed" ? "Used" : "Valid until"} ${expires}` }),
  );
}

let offersTimer = 0;
let shownOffers = "";

async function refreshOffers() {
  window.clearTimeout(offersTimer);
  try {
    const offers = await api("/offers");
    const key = JSON.stringify(offers.map((o) => [o.offer_id, o.status]));
    if (key !== shownOffers) {
      shownOffers = key;
      ui.offers.replaceChildren(...offers.map(offerItem));
    }
    ui.offersEmpty.hidden = offers.length > 0;
  } catch (error) {
    showError(`Could not load your offers: ${error.message}`);
  }
  offersTimer = window.setTimeout(refreshOffers, OFFERS_POLL_MS);
}

// ---------------------------------------------------------------------------------------------

async function start() {
  try {
    ({ qrcode } = await import(QR_URL.href));
  } catch {
    showError("UI assets not built: run scripts/build_ui.sh");
  }
  try {
    showWallet(await api("/me"));
  } catch (error) {
    if (error.status !== 404) showError(error.message);
    body.dataset.state = "consent";
    ui.form.hidden = false;
  }
}

start();
