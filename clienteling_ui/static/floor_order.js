// The order of the floor: newest arrival first, or grouped by zone in the store's floor order.
// Pure functions of the cards and the zone list the hub sends with each floor snapshot, so the
// same answer comes from a fresh snapshot and from a live event applied to the old floor.

import { parseTime } from "./format.js";

export const SORT_NEWEST = "newest";
export const SORT_ZONE = "zone";
export const SORT_MODES = [SORT_NEWEST, SORT_ZONE];
// Shoppers the hub has not placed in a zone yet (no zone-placed agent heard them so far).
export const UNKNOWN_ZONE = "unknown";
export const UNKNOWN_ZONE_LABEL = "Zone unknown";

export function arrivalOf(card) {
  return parseTime(card && card.arrived_at) ?? 0;
}

/** Newest arrival first; ties by visit, so every tablet shows the same order. */
export function newestFirst(a, b) {
  return arrivalOf(b) - arrivalOf(a) || String(a.visit_id).localeCompare(String(b.visit_id));
}

function text(value) {
  return typeof value === "string" && value.trim() ? value.trim() : null;
}

/** Only well-formed zones from the snapshot, in the order the hub sent (its floor order). */
export function usableZones(zones) {
  if (!Array.isArray(zones)) return [];
  return zones.filter((zone) => zone && text(zone.zone_id));
}

/**
 * The group a card belongs to: its zone id when the hub's zone list has it, else the listed
 * zone its display name matches (cards from before zone ids were on every card), else the name
 * itself, so cards of a zone added since the snapshot stay together with or without an id.
 */
export function zoneKeyOf(card, zones) {
  const known = usableZones(zones);
  const zoneId = text(card.zone_id);
  if (zoneId && known.some((zone) => zone.zone_id === zoneId)) return `id:${zoneId}`;
  const name = text(card.zone);
  const named = name && known.find((zone) => text(zone.name) === name);
  if (named) return `id:${named.zone_id}`;
  if (name) return `name:${name}`;
  return zoneId ? `id:${zoneId}` : UNKNOWN_ZONE;
}

function rankOf(key, zones) {
  if (key === UNKNOWN_ZONE) return Number.MAX_SAFE_INTEGER;
  const index = usableZones(zones).findIndex((zone) => `id:${zone.zone_id}` === key);
  // Zones the list does not know (added since the snapshot) follow the known ones, by name.
  return index === -1 ? Number.MAX_SAFE_INTEGER - 1 : index;
}

function labelOf(key, cards, zones) {
  if (key === UNKNOWN_ZONE) return UNKNOWN_ZONE_LABEL;
  const known = usableZones(zones).find((zone) => `id:${zone.zone_id}` === key);
  if (known && text(known.name)) return text(known.name);
  const named = cards.find((card) => text(card.zone));
  return named ? text(named.zone) : key.slice(key.indexOf(":") + 1);
}

/** The cards as groups [{key, label, cards}], in floor order, newest first inside each. */
export function groupByZone(cards, zones) {
  const byKey = new Map();
  for (const card of cards) {
    const key = zoneKeyOf(card, zones);
    if (!byKey.has(key)) byKey.set(key, []);
    byKey.get(key).push(card);
  }
  const groups = [...byKey].map(([key, members]) => ({
    key,
    label: labelOf(key, members, zones),
    cards: members.sort(newestFirst),
  }));
  return groups.sort(
    (a, b) =>
      rankOf(a.key, zones) - rankOf(b.key, zones) ||
      a.label.localeCompare(b.label) ||
      a.key.localeCompare(b.key),
  );
}

/** A stored sort choice, or newest first when none (or a stale one) is stored. */
export function parseSortMode(value) {
  return SORT_MODES.includes(value) ? value : SORT_NEWEST;
}
