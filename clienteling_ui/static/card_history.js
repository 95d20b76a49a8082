// Purchase history on the card: online orders and in-store receipts, newest first.

import { formatDay, h, money, parseTime, plural } from "./format.js";

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

export function historySection(card) {
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
