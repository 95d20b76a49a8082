// Shared by the IT and manager views: DOM building (text only, never markup), polling the
// page's JSON, and small SVG bar charts drawn here so the pages need no chart library.

const SVG_NS = "http://www.w3.org/2000/svg";

/** Create an element; `attrs` become attributes (plus `class`/`text`), children are appended. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  el.append(...children.filter((child) => child !== null && child !== undefined && child !== ""));
  return el;
}

/** The same for SVG elements. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  el.append(...children.filter((child) => child !== null && child !== undefined));
  return el;
}

function setAttrs(el, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") el.textContent = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
}

/** Poll `url` every `everyMs`, handing each JSON answer to `render`; shows state in the bar. */
export function poll(url, everyMs, render) {
  const status = document.querySelector('[data-testid="refresh-status"]');
  const banner = document.querySelector('[data-testid="error-banner"]');
  const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });
  let timer = 0;
  async function tick() {
    window.clearTimeout(timer);
    try {
      const response = await fetch(url, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (response.status === 401) {
        window.location.assign(`/tablet/sign-in?next=${encodeURIComponent(location.pathname)}`);
        return;
      }
      if (!response.ok) throw new Error(`the hub answered ${response.status}`);
      render(await response.json());
      banner.hidden = true;
      status.textContent = `Updated ${timeFormat.format(Date.now())}`;
      document.body.dataset.loaded = "true";
    } catch (error) {
      banner.textContent = `Cannot refresh: ${error.message}. Retrying…`;
      banner.hidden = false;
    }
    timer = window.setTimeout(tick, everyMs);
  }
  tick();
  return { now: tick };
}

/** A horizontal bar chart: one row per item, label left, value right. */
export function barChart(items, { label, value, format = String, title }) {
  const rowHeight = 34;
  const width = 560;
  const labelWidth = 170;
  const valueWidth = 90;
  const max = Math.max(1, ...items.map(value));
  const barSpace = width - labelWidth - valueWidth;
  const svg = s("svg", {
    viewBox: `0 0 ${width} ${Math.max(1, items.length) * rowHeight}`,
    role: "img",
    "aria-label": title,
    class: "bars",
  });
  items.forEach((item, index) => {
    const y = index * rowHeight;
    const barWidth = Math.round((value(item) / max) * barSpace);
    svg.append(
      s("text", { x: 0, y: y + 22, class: "bars__label", text: label(item) }),
      s("rect", { x: labelWidth, y: y + 6, width: barWidth, height: 22, rx: 4, class: "bars__bar" }),
      s("text", {
        x: labelWidth + barWidth + 8,
        y: y + 22,
        class: "bars__value",
        text: format(value(item)),
      }),
    );
  });
  return svg;
}

/** A vertical column chart over hours 0-23, as footfall is read. */
export function hourChart(hours, title) {
  const width = 600;
  const height = 200;
  const bottom = 24;
  const max = Math.max(1, ...hours.map((hour) => hour.arrivals));
  const step = width / hours.length;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title, class: "columns" });
  for (const hour of hours) {
    const x = hour.hour * step;
    const barHeight = Math.round((hour.arrivals / max) * (height - bottom - 18));
    const y = height - bottom - barHeight;
    const column = s("rect", {
      x: x + 3,
      y,
      width: step - 6,
      height: barHeight,
      rx: 3,
      class: "columns__bar",
      "data-hour": hour.hour,
      "data-arrivals": hour.arrivals,
    });
    column.append(s("title", { text: `${hour.hour}:00 – ${hour.arrivals} arrivals` }));
    svg.append(column);
    if (hour.arrivals) {
      svg.append(s("text", { x: x + step / 2, y: y - 4, class: "columns__value", text: hour.arrivals }));
    }
    if (hour.hour % 3 === 0) {
      svg.append(s("text", { x: x + step / 2, y: height - 6, class: "columns__axis", text: `${hour.hour}h` }));
    }
  }
  return svg;
}
