// Formatting and DOM building shared by the tablet's modules. Shopper data only ever reaches
// the page through textContent or checked attributes (see h below), never through markup.

// The hub's clock minus this tablet's, learnt from each floor snapshot, so "time in store" is
// right on a tablet whose clock is off.
let clockOffsetMs = 0;

/** Learn the hub's time from a snapshot's server_time (milliseconds since the epoch). */
export function setServerTime(ms) {
  clockOffsetMs = ms - Date.now();
}

const moneyFormats = new Map();

export function money(amount, currency, { whole = false } = {}) {
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
export const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

export function parseTime(value) {
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

export function serverNow() {
  return Date.now() + clockOffsetMs;
}

export function formatDay(ms) {
  const sameYear = new Date(ms).getFullYear() === new Date(serverNow()).getFullYear();
  return (sameYear ? dayFormat : dayYearFormat).format(ms);
}

export function formatElapsed(ms) {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  if (minutes < 1) return "<1 min";
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest ? `${hours} h ${rest} min` : `${hours} h`;
}

export function plural(count, one, many) {
  return `${count} ${count === 1 ? one : many}`;
}

export function titleCase(text) {
  const words = String(text).replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function initials(name) {
  const letters = name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((word) => word.charAt(0).toUpperCase());
  return letters.join("") || "?";
}

export function safeImageUrl(value) {
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

// DOM building

/** Create an element; `attrs` become attributes (plus `class`/`text`), children are appended. */
export function h(tag, attrs = {}, ...children) {
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
