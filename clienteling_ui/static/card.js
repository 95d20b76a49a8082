// The shopper's card: profile, sizes, flags, stock, offer, wishlist, cart, history, notes.
// Pure rendering from the card dict the hub sends; actions are wired by the modules that own them.
//
// Contract of renderCard(card) -> <li>:
// - Floor cards have a `visit_id` (the shopper is in the store): time in store, zone, the help
//   line (claim/release/hand over) and the notes form, wired by claims.js through
//   data-visit-id. Recording a view for the audit log is the caller's job (floor.js does it for
//   the floor); renderCard itself never talks to the hub.
// - Look-up cards (a customer found by search, not in the store) have NO `visit_id`, and
//   `present: false`: no time in store, no zone, no help line, notes read-only (no form), and
//   no data-visit-id, so no floor action can target them. They carry data-customer-id instead.
// - Parts the customer did not share arrive already removed by the hub; `hidden`
//   ([{field, reason}], fields sizes | wishlist_and_cart | purchase_history | contact) names
//   them, and each shows as one muted line ("Purchase history hidden · not shared by the
//   customer") where the section would be, so "hidden" never reads as "none".

import { helpSection, notesSection } from "./claims.js";
import { sendOfferButton } from "./offer_send.js";
import {
  formatDay,
  formatElapsed,
  h,
  initials,
  money,
  parseTime,
  plural,
  safeImageUrl,
  serverNow,
  timeFormat,
  titleCase,
} from "./format.js";

const MAX_LISTED_ITEMS = 3;
const KNOWN_TIERS = new Set(["bronze", "silver", "gold", "platinum", "vip"]);
let nameIds = 0;

export function displayName(card) {
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

// ---------------------------------------------------------------------------------------------
// Flags on the card's head: what an associate should know at a glance. Each says it in words;
// the colour only repeats it.

function flag(kind, testid, text) {
  return h("li", { class: `flag flag--${kind}`, "data-testid": testid, "data-flag": kind, text });
}

function inStockFlag(card) {
  const count = Number(card.in_stock_here_count) || 0;
  if (count <= 0) return null;
  return flag(
    "in-stock",
    "in-stock-flag",
    `${plural(count, "wanted item", "wanted items")} in stock here`,
  );
}

function cartFlag(card) {
  const items = card.cart && Array.isArray(card.cart.items) ? card.cart.items : [];
  return items.length ? flag("cart", "cart-flag", "Abandoned cart") : null;
}

// The states a code can still be used from (store_hub.domain.offer_states.REDEEMABLE_FROM).
const REDEEMABLE = new Set(["sent", "issued", "delivered", "opened"]);

function offerFlag(card) {
  const offer = card.offer;
  if (!offer || !offer.code) return null;
  const status = typeof offer.status === "string" ? offer.status : "sent";
  if (status === "redeemed") return flag("offer-redeemed", "offer-flag", "Offer redeemed");
  return REDEEMABLE.has(status) ? flag("offer-sent", "offer-flag", "Offer sent") : null;
}

function helpedFlag(card, lookUp) {
  const helper = card.helped_by;
  if (lookUp || !helper || typeof helper.name !== "string") return null;
  const mine = helper.associate_id === document.body.dataset.associateId;
  return flag("helped", "helped-flag", mine ? "You are helping" : `Helped by ${helper.name}`);
}

function flagsRow(card, lookUp) {
  const flags = [inStockFlag(card), cartFlag(card), offerFlag(card), helpedFlag(card, lookUp)];
  const shown = flags.filter(Boolean);
  if (shown.length === 0) return null;
  return h("ul", { class: "flags", "data-testid": "flags", "aria-label": "At a glance" }, ...shown);
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

// ---------------------------------------------------------------------------------------------
// Parts the customer did not share (removed by the hub; the card says which and why)

const HIDDEN_LABELS = {
  sizes: "Sizes",
  wishlist_and_cart: "Wishlist and cart",
  purchase_history: "Purchase history",
  contact: "Contact details",
};

function hiddenReasons(card) {
  const reasons = new Map();
  for (const entry of Array.isArray(card.hidden) ? card.hidden : []) {
    if (entry && typeof entry.field === "string") {
      reasons.set(entry.field, typeof entry.reason === "string" ? entry.reason : "");
    }
  }
  return reasons;
}

function hiddenLine(field, reason) {
  const label = HIDDEN_LABELS[field] || titleCase(field);
  const why = reason ? ` · ${reason.charAt(0).toLowerCase()}${reason.slice(1)}` : "";
  return h("p", {
    class: "hidden-field",
    "data-testid": "hidden-field",
    "data-field": field,
    text: `${label} hidden${why}`,
  });
}

// ---------------------------------------------------------------------------------------------
// Purchase history: online orders and in-store receipts, newest first

const MAX_HISTORY_ROWS = 4;
const CHANNEL_LABELS = { online: "Online", store: "In store" };

function historyEntries(card) {
  if (Array.isArray(card.history) && card.history.length > 0) return card.history;
  // A card whose history could not be merged (the store's database was down) still has orders.
  const orders = Array.isArray(card.orders) ? card.orders : [];
  return orders.map((order) => ({
    channel: "online",
    ref: order.order_id,
    at: order.placed_at,
    total: order.total,
    currency: order.currency,
  }));
}

function historyRow(entry) {
  const at = parseTime(entry.at);
  const channel = entry.channel === "store" ? "store" : "online";
  const items = Array.isArray(entry.items) ? entry.items.length : Number(entry.item_count) || 0;
  const what = [items ? plural(items, "item", "items") : "", money(entry.total, entry.currency)]
    .filter(Boolean)
    .join(" · ");
  return h(
    "li",
    { class: "history__row", "data-testid": "history-entry", "data-channel": channel },
    h("span", { class: "history__date", text: at === null ? "–" : formatDay(at) }),
    h("span", {
      class: `history__channel history__channel--${channel}`,
      text: CHANNEL_LABELS[channel],
    }),
    h("span", { class: "history__what", text: what || "–" }),
  );
}

function historySection(card) {
  const entries = historyEntries(card).filter((entry) => entry && typeof entry === "object");
  if (entries.length === 0) {
    return h("p", { class: "card__orders", "data-testid": "orders", text: "No previous orders" });
  }
  const placed = entries.map((entry) => parseTime(entry.at)).filter((ms) => ms !== null);
  let title = plural(entries.length, "previous order", "previous orders");
  if (placed.length > 0) title += ` · last ${formatDay(Math.max(...placed))}`;
  const list = h("ul", { class: "history__list", role: "list" });
  for (const entry of entries.slice(0, MAX_HISTORY_ROWS)) list.append(historyRow(entry));
  if (entries.length > MAX_HISTORY_ROWS) {
    const more = `+${entries.length - MAX_HISTORY_ROWS} more`;
    list.append(h("li", { class: "history__row history__row--more", text: more }));
  }
  return h(
    "section",
    { class: "block history", "data-testid": "history", "aria-label": "Purchase history" },
    h("h3", { class: "block__title", "data-testid": "orders", text: title }),
    list,
  );
}

const OFFER_LABELS = { sent: "Offer sent", redeemed: "Offer redeemed", expired: "Offer expired" };

function offerSection(offer, canRedeem) {
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
    canRedeem && REDEEMABLE.has(status)
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

function contactLine(profile) {
  const email = profile && typeof profile.email === "string" ? profile.email : "";
  const phone = profile && typeof profile.phone === "string" ? profile.phone : "";
  const parts = [email, phone].filter(Boolean);
  return parts.length
    ? h("p", { class: "card__contact", "data-testid": "contact", text: parts.join(" · ") })
    : null;
}

/** A section, or the line saying the customer keeps it from associates. */
function unlessHidden(hidden, field, section) {
  return hidden.has(field) ? hiddenLine(field, hidden.get(field)) : section;
}

/** The notes without the form: a look-up card has no visit to add a note to. */
function readOnly(notes) {
  for (const el of notes.querySelectorAll(".notes__label, .notes__input, [data-action]")) {
    el.remove();
  }
  return notes;
}

// Notes outlive visits: one from an earlier day says which day.
function noteTime(at) {
  const ms = parseTime(at);
  if (ms === null) return "";
  const today = new Date(ms).toDateString() === new Date(serverNow()).toDateString();
  return today ? timeFormat.format(ms) : `${formatDay(ms)} ${timeFormat.format(ms)}`;
}

export function renderCard(card) {
  const name = displayName(card);
  const shown = name || `Guest ${card.customer_id || ""}`.trim();
  const nameId = `shopper-name-${++nameIds}`;
  const profile = card.profile || null;
  const lookUp = !card.visit_id || card.present === false;
  const arrived = lookUp ? null : parseTime(card.arrived_at);
  const lifetime = profile ? money(profile.lifetime_value, profile.currency, { whole: true }) : "";
  const hidden = hiddenReasons(card);
  const pending = card.profile_status === "pending";
  const notes = notesSection(card, h, noteTime);

  return h(
    "li",
    {
      class: `card card--${card.profile_status || "pending"}${lookUp ? " card--lookup" : ""}`,
      "data-testid": "shopper-card",
      "data-visit-id": lookUp ? null : card.visit_id,
      "data-customer-id": lookUp ? card.customer_id || null : null,
      "data-present": lookUp ? "false" : "true",
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
      lookUp
        ? h("p", { class: "card__time", "data-testid": "not-in-store", text: "Not in store" })
        : h(
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
        card.zone && !lookUp
          ? h("span", { class: "card__zone", "data-testid": "zone", text: card.zone })
          : null,
        lifetime ? h("span", { class: "card__ltv", text: `${lifetime} lifetime` }) : null,
        ...segmentBadges(card.segments),
      ),
      flagsRow(card, lookUp),
    ),
    lookUp ? null : helpSection(card, h),
    profileNote(card),
    unlessHidden(hidden, "sizes", sizesLine(profile)),
    unlessHidden(hidden, "contact", contactLine(profile)),
    // Redeeming on the tablet goes through the visit; a look-up card has none.
    offerSection(card.offer, !lookUp),
    lookUp ? null : sendOfferButton(card, h),
    ...(hidden.has("wishlist_and_cart")
      ? [hiddenLine("wishlist_and_cart", hidden.get("wishlist_and_cart"))]
      : [wishlistSection(card.wishlist), cartSection(card.cart)]),
    unlessHidden(hidden, "purchase_history", pending ? null : historySection(card)),
    lookUp ? readOnly(notes) : notes,
  );
}
