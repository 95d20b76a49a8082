// The shopper's card on the floor: profile, sizes, stock, offer, wishlist, cart, history, notes.
// Pure rendering from the card dict the hub sends; actions are wired by the modules that own them.

import { helpSection, notesSection } from "./claims.js";
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

export function renderCard(card) {
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

