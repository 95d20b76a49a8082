// The associate's floor: a live list of the opted-in shoppers in one store, fed over Socket.IO.
// Every piece of shopper data reaches the page through textContent or a checked attribute,
// never through markup.

import { helpSection, notesSection, wireClaims } from "./claims.js";
import { startIdleLock } from "./idle_lock.js";

const VENDOR_URL = new URL("./vendor/socket.io.esm.min.js", import.meta.url);
const NOT_BUILT = "UI assets not built: run scripts/build_ui.sh";
const NAMESPACE = "/floor";
const TICK_MS = 15_000;
// A floor can fail to come (the hub's snapshot errored): ask again rather than show nothing.
const SNAPSHOT_RETRY_MS = 8_000;
// Matches the leave animation in floor.css; the timer covers a missed animationend.
const LEAVE_MS = 450;
// After the hub drops the session on purpose (a restart, say), wait before knocking again.
const SERVER_DISCONNECT_RETRY_MS = 5_000;
const MAX_LISTED_ITEMS = 3;
const KNOWN_TIERS = new Set(["bronze", "silver", "gold", "platinum", "vip"]);

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
};
const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

/** visit_id -> {card, el} for the shoppers present; leaving cards are already gone from here. */
const shoppers = new Map();
let clockOffsetMs = 0;
let snapshotPending = true;
// Events that arrive before the floor they apply to; replayed over it once it lands.
let heldEvents = [];
let snapshotTimer = 0;
let nameIds = 0;
let liveSocket = null;
// Cards this page has shown, so each is recorded once for the audit log (view_card).
const viewedVisits = new Set();

// ---------------------------------------------------------------------------------------------
// Formatting

const moneyFormats = new Map();

function money(amount, currency, { whole = false } = {}) {
  const value = Number(amount);
  if (amount === null || amount === undefined || !Number.isFinite(value)) return "";
  const key = `${currency || ""}|${whole}`;
  if (!moneyFormats.has(key)) {
    let format = null;
    try {
      format = new Intl.NumberFormat(undefined, {
        style: "currency",
        currency: currency || "",
        ...(whole ? { minimumFractionDigits: 0, maximumFractionDigits: 0 } : {}),
      });
    } catch {
      // An unknown or missing ISO code: show the bare number and whatever code we got.
    }
    moneyFormats.set(key, format);
  }
  const format = moneyFormats.get(key);
  return format ? format.format(value) : `${value.toFixed(whole ? 0 : 2)} ${currency || ""}`.trim();
}

const dayFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const dayYearFormat = new Intl.DateTimeFormat(undefined, {
  day: "numeric",
  month: "short",
  year: "numeric",
});
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

function parseTime(value) {
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

function serverNow() {
  return Date.now() + clockOffsetMs;
}

function formatDay(ms) {
  const sameYear = new Date(ms).getFullYear() === new Date(serverNow()).getFullYear();
  return (sameYear ? dayFormat : dayYearFormat).format(ms);
}

function formatElapsed(ms) {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  if (minutes < 1) return "<1 min";
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest ? `${hours} h ${rest} min` : `${hours} h`;
}

function plural(count, one, many) {
  return `${count} ${count === 1 ? one : many}`;
}

function titleCase(text) {
  const words = String(text).replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function initials(name) {
  const letters = name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((word) => word.charAt(0).toUpperCase());
  return letters.join("") || "?";
}

function safeImageUrl(value) {
  if (typeof value !== "string" || !value) return null;
  let url;
  try {
    url = new URL(value, window.location.href);
  } catch {
    return null;
  }
  if (url.protocol === "https:" || url.protocol === "http:") return url.href;
  if (url.protocol === "data:" && value.startsWith("data:image/")) return value;
  return null;
}

// ---------------------------------------------------------------------------------------------
// DOM building

/** Create an element; `attrs` become attributes (plus `class`/`text`), children are appended. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  // append() turns strings into text nodes, so data passed as a child is never parsed as HTML.
  el.append(...children.filter((child) => child !== null && child !== undefined && child !== ""));
  return el;
}

function displayName(card) {
  const profile = card.profile;
  const name = profile ? [profile.first_name, profile.last_name].filter(Boolean).join(" ") : "";
  return name || null;
}

function thumbnail(item) {
  const src = safeImageUrl(item.image_url);
  const swatch = () => {
    const tile = h("span", { class: "thumb thumb--swatch", "aria-hidden": "true" });
    const colour = typeof item.colour === "string" ? item.colour.toLowerCase() : "";
    if (colour && CSS.supports("color", colour)) {
      tile.classList.add("thumb--colour");
      tile.style.setProperty("--swatch", colour);
    } else {
      tile.textContent = (item.name || "?").charAt(0).toUpperCase();
    }
    return tile;
  };
  if (!src) return swatch();
  const img = h("img", {
    class: "thumb",
    src,
    alt: "",
    width: 56,
    height: 56,
    loading: "lazy",
    decoding: "async",
    referrerpolicy: "no-referrer",
  });
  img.addEventListener("error", () => img.replaceWith(swatch()), { once: true });
  return img;
}

function variantText(item) {
  return [item.size && `Size ${item.size}`, item.colour].filter(Boolean).join(" · ");
}

// ---------------------------------------------------------------------------------------------
// Store stock and segments (filled in by the hub from this store's inventory and history)

const SEGMENT_LABELS = {
  vip: "VIP",
  new: "New customer",
  lapsing: "Lapsing",
  frequent: "Frequent",
  high_cart_value: "High cart value",
};

function stockLine(stock) {
  // Cards from before stock was known carry no stock_here: say nothing rather than "none".
  if (!stock || typeof stock !== "object") return null;
  const sizes = stock.sizes && typeof stock.sizes === "object" ? Object.entries(stock.sizes) : [];
  const counts = sizes.map(([, count]) => Number(count) || 0);
  const available = Number(stock.available) || 0;
  const anyHere = available > 0 || counts.some((count) => count > 0);
  let text = "Not in stock here";
  if (anyHere) {
    const parts = sizes.map(([size, count]) => `${size} ×${Number(count) || 0}`);
    text = `In stock here: ${parts.length ? parts.join(" · ") : `×${available}`}`;
    if (typeof stock.location === "string" && stock.location) text += ` — ${stock.location}`;
  }
  const state = available > 0 ? "yes" : anyHere ? "other" : "none";
  return h("span", { class: `stock stock--${state}`, "data-testid": "stock-here", text });
}

function inStockFlag(card) {
  const count = Number(card.in_stock_here_count) || 0;
  if (count <= 0) return null;
  return h("span", {
    class: "in-stock-flag",
    "data-testid": "in-stock-flag",
    text: `${plural(count, "wanted item", "wanted items")} in stock here`,
  });
}

function segmentBadges(segments) {
  const list = Array.isArray(segments) ? segments.filter((s) => typeof s === "string" && s) : [];
  return list.map((segment) =>
    h("span", {
      class: `segment segment--${segment.replace(/[^a-z0-9_]/gi, "")}`,
      "data-testid": "segment",
      "data-segment": segment,
      text: SEGMENT_LABELS[segment] || titleCase(segment),
    }),
  );
}

function itemList(items, lineOf) {
  const list = h("ul", { class: "items", role: "list" });
  for (const item of items.slice(0, MAX_LISTED_ITEMS)) {
    const [detail, price] = lineOf(item);
    list.append(
      h(
        "li",
        { class: "item" },
        thumbnail(item),
        h(
          "span",
          { class: "item__text" },
          h("span", { class: "item__name", text: item.name || item.sku || "Item" }),
          detail ? h("span", { class: "item__detail", text: detail }) : null,
          stockLine(item.stock_here),
        ),
        price ? h("span", { class: "item__price", text: price }) : null,
      ),
    );
  }
  if (items.length > MAX_LISTED_ITEMS) {
    list.append(
      h("li", { class: "item item--more", text: `+${items.length - MAX_LISTED_ITEMS} more` }),
    );
  }
  return list;
}

function wishlistSection(wishlist) {
  if (!Array.isArray(wishlist) || wishlist.length === 0) return null;
  return h(
    "section",
    { class: "block", "data-testid": "wishlist", "aria-label": "Wishlist" },
    h("h3", { class: "block__title", text: `Wishlist · ${wishlist.length}` }),
    itemList(wishlist, (item) => [variantText(item), money(item.price, item.currency)]),
  );
}

function cartSection(cart) {
  const items = cart && Array.isArray(cart.items) ? cart.items : [];
  if (items.length === 0) return null;
  const units = items.reduce((sum, item) => sum + (Number(item.quantity) || 1), 0);
  const total = money(cart.total, cart.currency);
  return h(
    "section",
    { class: "block block--cart", "data-testid": "cart", "aria-label": "Abandoned online cart" },
    h("h3", {
      class: "block__title",
      text: `Left in online cart · ${plural(units, "item", "items")}`,
    }),
    itemList(items, (item) => {
      const quantity = Number(item.quantity) || 1;
      const detail = [variantText(item), quantity > 1 ? `× ${quantity}` : ""]
        .filter(Boolean)
        .join(" ");
      return [detail, money(Number(item.unit_price) * quantity, item.currency)];
    }),
    total
      ? h(
          "p",
          { class: "cart__total" },
          h("span", { text: "Cart total" }),
          h("strong", { "data-testid": "cart-total", text: total }),
        )
      : null,
  );
}

function ordersLine(orders) {
  const list = Array.isArray(orders) ? orders : [];
  const placed = list.map((order) => parseTime(order.placed_at)).filter((ms) => ms !== null);
  let text = "No previous orders";
  if (list.length > 0) {
    text = plural(list.length, "previous order", "previous orders");
    if (placed.length > 0) text += ` · last ${formatDay(Math.max(...placed))}`;
  }
  return h("p", { class: "card__orders", "data-testid": "orders", text });
}

// The states a code can still be used from (store_hub.domain.offer_states.REDEEMABLE_FROM).
const REDEEMABLE = new Set(["sent", "issued", "delivered", "opened"]);
const OFFER_LABELS = { sent: "Offer sent", redeemed: "Offer redeemed", expired: "Offer expired" };

function offerSection(offer) {
  if (!offer || !offer.code) return null;
  const status = typeof offer.status === "string" ? offer.status : "sent";
  const expires = parseTime(offer.expires_at);
  let expiry = null;
  if (expires !== null && status === "sent") {
    const sameDay = new Date(expires).toDateString() === new Date(serverNow()).toDateString();
    expiry = `Valid until ${sameDay ? timeFormat.format(expires) : formatDay(expires)}`;
  }
  return h(
    "section",
    {
      class: `offer offer--${status.replace(/[^a-z]/gi, "")}`,
      "data-testid": "offer",
      "aria-label": "Offer",
    },
    h("p", { class: "offer__label", text: OFFER_LABELS[status] || `Offer ${status}` }),
    h(
      "p",
      { class: "offer__main" },
      h("code", { class: "offer__code", text: offer.code }),
      h("span", { class: "offer__title", text: offer.title || "" }),
    ),
    expiry ? h("p", { class: "offer__expiry", text: expiry }) : null,
    REDEEMABLE.has(status)
      ? h("button", {
          type: "button",
          class: "button button--primary",
          "data-action": "redeem",
          "data-code": offer.code,
          "data-testid": "redeem",
          text: "Redeem",
        })
      : null,
  );
}

const PROFILE_NOTES = {
  pending: ["note--pending", "Loading online profile…"],
  unavailable: ["note--warn", "Online profile unavailable"],
  partial: ["note--warn", "Online profile unavailable in part"],
};

function profileNote(card) {
  // A card from the hub's cache says how old it is, so nobody trusts a stale cart blindly.
  const cachedAt = parseTime(card.profile_cached_at);
  if (cachedAt !== null) {
    const when = timeFormat.format(cachedAt);
    const text =
      card.profile_cache_reason === "store_unavailable"
        ? `Online profile unavailable, showing cached data from ${when}`
        : `Showing cached data from ${when}, refreshing…`;
    return h("p", { class: "note note--warn", "data-testid": "profile-note", text });
  }
  const note = PROFILE_NOTES[card.profile_status];
  return note
    ? h("p", { class: `note ${note[0]}`, "data-testid": "profile-note", text: note[1] })
    : null;
}

function sizesLine(profile) {
  const sizes = profile && profile.sizes && typeof profile.sizes === "object" ? profile.sizes : {};
  const parts = Object.entries(sizes)
    .filter(([, size]) => size !== null && size !== undefined && size !== "")
    .map(([kind, size]) => `${titleCase(kind)} ${size}`);
  return parts.length
    ? h("p", { class: "card__sizes", text: `Sizes: ${parts.join(" · ")}` })
    : null;
}

function tierBadge(profile) {
  const tier =
    profile && typeof profile.loyalty_tier === "string" ? profile.loyalty_tier.trim() : "";
  if (!tier) return null;
  const slug = tier.toLowerCase().replace(/[^a-z0-9]/g, "");
  const known = KNOWN_TIERS.has(slug) ? ` tier--${slug}` : "";
  return h("span", { class: `tier${known}`, "data-testid": "tier", text: titleCase(tier) });
}

function renderCard(card) {
  const name = displayName(card);
  const shown = name || `Guest ${card.customer_id || ""}`.trim();
  const nameId = `shopper-name-${++nameIds}`;
  const profile = card.profile || null;
  const arrived = parseTime(card.arrived_at);
  const lifetime = profile ? money(profile.lifetime_value, profile.currency, { whole: true }) : "";

  return h(
    "li",
    {
      class: `card card--${card.profile_status || "pending"}`,
      "data-testid": "shopper-card",
      "data-visit-id": card.visit_id,
      "data-profile-status": card.profile_status || "pending",
      "aria-labelledby": nameId,
    },
    h(
      "div",
      { class: "card__head" },
      h("span", {
        class: `avatar${name ? "" : " avatar--guest"}`,
        "aria-hidden": "true",
        text: name ? initials(name) : "G",
      }),
      h("h2", { class: "card__name", id: nameId, "data-testid": "shopper-name", text: shown }),
      h(
        "p",
        { class: "card__time" },
        h("span", { class: "card__time-label", text: "In store" }),
        h("span", {
          class: "card__elapsed",
          "data-testid": "time-in-store",
          "data-arrived-at": arrived === null ? null : arrived,
          text: arrived === null ? "–" : formatElapsed(serverNow() - arrived),
        }),
      ),
      h(
        "p",
        { class: "card__meta" },
        tierBadge(profile),
        card.zone
          ? h("span", { class: "card__zone", "data-testid": "zone", text: card.zone })
          : null,
        lifetime ? h("span", { class: "card__ltv", text: `${lifetime} lifetime` }) : null,
        ...segmentBadges(card.segments),
        inStockFlag(card),
      ),
    ),
    helpSection(card, h),
    profileNote(card),
    sizesLine(profile),
    offerSection(card.offer),
    wishlistSection(card.wishlist),
    cartSection(card.cart),
    card.profile_status === "pending" ? null : ordersLine(card.orders),
    notesSection(card, h, (at) => {
      const ms = parseTime(at);
      return ms === null ? "" : timeFormat.format(ms);
    }),
  );
}

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

function arrivalOf(card) {
  return parseTime(card.arrived_at) ?? 0;
}

function sortedByArrival(cards) {
  return [...cards].sort((a, b) => arrivalOf(b) - arrivalOf(a));
}

function showFloor(floor) {
  clearTimeout(snapshotTimer);
  const serverTime = parseTime(floor.server_time);
  if (serverTime !== null) clockOffsetMs = serverTime - Date.now();
  shoppers.clear();
  const elements = [];
  for (const card of sortedByArrival(Array.isArray(floor.shoppers) ? floor.shoppers : [])) {
    if (!card || !card.visit_id || shoppers.has(card.visit_id)) continue;
    const el = renderCard(card);
    shoppers.set(card.visit_id, { card, el });
    elements.push(el);
    recordView(card);
  }
  ui.list.replaceChildren(...elements);
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
  else ui.list.prepend(el);
  shoppers.set(card.visit_id, { card, el });
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
    return;
  }
  // An update for a visit we never saw (a missed arrival): place it by arrival time.
  const arrivedAt = arrivalOf(card);
  const next = [...ui.list.children].find((child) => {
    const entry = shoppers.get(child.dataset.visitId);
    return entry && entry.el === child && arrivalOf(entry.card) < arrivedAt;
  });
  ui.list.insertBefore(el, next || null);
}

function departed(departure) {
  const entry = departure && shoppers.get(departure.visit_id);
  if (!entry) return;
  shoppers.delete(departure.visit_id);
  const el = entry.el;
  if (reducedMotion.matches) {
    el.remove();
    return;
  }
  el.classList.add("is-leaving");
  el.setAttribute("aria-hidden", "true");
  const remove = () => el.remove();
  el.addEventListener("animationend", remove, { once: true });
  setTimeout(remove, LEAVE_MS + 100);
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

function setTransport(name) {
  body.dataset.transport = name || "";
}

function connect(io) {
  let everConnected = false;
  const socket = io(NAMESPACE, {
    // WebSocket first; long-polling only if a proxy on the way blocks WebSocket.
    transports: ["websocket", "polling"],
    tryAllTransports: true,
    // The hub admits the tablet by its sign-in session cookie; the store id must match it.
    auth: { store_id: storeId },
  });

  const armSnapshotRetry = () => {
    clearTimeout(snapshotTimer);
    snapshotTimer = setTimeout(() => {
      if (snapshotPending && socket.connected) {
        socket.emit("resync");
        armSnapshotRetry();
      }
    }, SNAPSHOT_RETRY_MS);
  };

  // The manager builds a new engine for every reconnection, so follow upgrades on each one.
  socket.io.on("open", () => {
    const engine = socket.io.engine;
    setTransport(engine.transport.name);
    engine.on("upgrade", (transport) => setTransport(transport.name));
  });

  socket.on("connect", () => {
    body.dataset.connection = "connected";
    setTransport(socket.io.engine.transport.name);
    setStatus("connected", "Live");
    ui.offline.hidden = true;
    ui.error.hidden = true;
    if (everConnected) socket.emit("resync");
    everConnected = true;
    armSnapshotRetry();
  });

  socket.on("disconnect", (reason) => {
    body.dataset.connection = "disconnected";
    snapshotPending = true;
    // Held events belong to a floor that never came; the next floor supersedes them.
    heldEvents = [];
    clearTimeout(snapshotTimer);
    setStatus("offline", "Offline");
    ui.offline.hidden = false;
    if (reason === "io server disconnect") {
      // socket.io only retries by itself after a lost transport. If the hub no longer wants
      // this tablet, the next attempt is refused and connect_error below says why.
      setTimeout(() => socket.connect(), SERVER_DISCONNECT_RETRY_MS);
    }
  });

  socket.on("connect_error", (error) => {
    body.dataset.connection = "disconnected";
    if (!socket.active) {
      // Refused by the hub (unknown store, say): socket.io will not retry, so say why.
      setStatus("error", "Not connected");
      showError(`Cannot show this store's floor: ${error.message}`);
      if (ui.loading) ui.loading.hidden = true;
      return;
    }
    setStatus("offline", everConnected ? "Offline" : "Connecting…");
    if (everConnected) ui.offline.hidden = false;
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
