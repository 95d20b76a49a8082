// The card's head at a glance: flags (in words; the colour only repeats them), segment badges
// and the loyalty tier.

import { h, plural, titleCase } from "./format.js";

const KNOWN_TIERS = new Set(["bronze", "silver", "gold", "platinum", "vip"]);

const SEGMENT_LABELS = {
  vip: "VIP",
  new: "New customer",
  lapsing: "Lapsing",
  frequent: "Frequent",
  high_cart_value: "High cart value",
};

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
export const REDEEMABLE = new Set(["sent", "issued", "delivered", "opened"]);

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

export function flagsRow(card, lookUp) {
  const flags = [inStockFlag(card), cartFlag(card), offerFlag(card), helpedFlag(card, lookUp)];
  const shown = flags.filter(Boolean);
  if (shown.length === 0) return null;
  return h("ul", { class: "flags", "data-testid": "flags", "aria-label": "At a glance" }, ...shown);
}

export function segmentBadges(segments) {
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

export function tierBadge(profile) {
  const tier =
    profile && typeof profile.loyalty_tier === "string" ? profile.loyalty_tier.trim() : "";
  if (!tier) return null;
  const slug = tier.toLowerCase().replace(/[^a-z0-9]/g, "");
  const known = KNOWN_TIERS.has(slug) ? ` tier--${slug}` : "";
  return h("span", { class: `tier${known}`, "data-testid": "tier", text: titleCase(tier) });
}
