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

import { cartSection, wishlistSection } from "./card_items.js";
import { REDEEMABLE, flagsRow, segmentBadges, tierBadge } from "./card_flags.js";
import { historySection } from "./card_history.js";
import { helpSection, notesSection } from "./claims.js";
import {
  formatDay,
  formatElapsed,
  h,
  initials,
  money,
  parseTime,
  serverNow,
  timeFormat,
  titleCase,
} from "./format.js";
import { sendOfferButton } from "./offer_send.js";

let nameIds = 0;

// While no agent hears the phone (`quiet_since`, mostly a locked phone), the zone is only where
// the shopper was last heard: said so, and how long ago, so nobody walks there expecting them.
function zoneChip(card) {
  const quietSince = parseTime(card.quiet_since);
  if (quietSince === null) {
    return h("span", { class: "card__zone", "data-testid": "zone", text: card.zone });
  }
  return h(
    "span",
    { class: "card__zone card__zone--quiet", title: "Phone not heard since: last known zone" },
    h("span", { "data-testid": "zone", text: card.zone }),
    " ", // read as two phrases, not "Fitting roomslast heard"
    h("span", {
      class: "card__quiet",
      "data-testid": "zone-quiet",
      "data-quiet-since": quietSince,
      text: quietText(serverNow() - quietSince),
    }),
  );
}

export function quietText(ms) {
  return `last heard ${formatElapsed(ms)} ago`;
}

export function displayName(card) {
  const profile = card.profile;
  const name = profile ? [profile.first_name, profile.last_name].filter(Boolean).join(" ") : "";
  return name || null;
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
        card.zone && !lookUp ? zoneChip(card) : null,
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
