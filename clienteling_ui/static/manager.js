// The manager view: today's footfall, dwell by zone and the offer funnel, polled every
// half-minute and drawn as SVG charts built node by node.

import { barChart, h, hourChart, poll } from "./views-common.js";

const POLL_MS = 30_000;
const FUNNEL = [
  ["eligible", "Eligible"],
  ["sent", "Sent"],
  ["delivered", "Delivered"],
  ["redeemed", "Redeemed"],
  ["held_out", "Held out"],
];
const ui = {
  date: document.querySelector('[data-testid="date"]'),
  total: document.querySelector('[data-testid="footfall-total"]'),
  footfall: document.querySelector('[data-testid="footfall-chart"]'),
  funnelChart: document.querySelector('[data-testid="funnel-chart"]'),
  funnel: document.querySelector('[data-testid="funnel"]'),
  dwell: document.querySelector('[data-testid="dwell-chart"]'),
  dwellEmpty: document.querySelector('[data-testid="dwell-empty"]'),
};

function minutes(seconds) {
  const m = seconds / 60;
  return m < 10 ? `${m.toFixed(1)} min` : `${Math.round(m)} min`;
}

function render(stats) {
  ui.date.textContent = `${stats.date} (${stats.time_zone})`;
  const total = stats.footfall.reduce((sum, hour) => sum + hour.arrivals, 0);
  ui.total.textContent = String(total);
  ui.footfall.replaceChildren(
    hourChart(stats.footfall, `Arrivals per hour today, ${total} in all`),
    h("figcaption", { text: `Arrivals per hour, store time (${stats.time_zone})` }),
  );

  const funnel = stats.offer_funnel;
  const steps = FUNNEL.map(([key, label]) => ({ key, label, value: funnel[key] }));
  ui.funnelChart.replaceChildren(
    barChart(steps, {
      label: (step) => step.label,
      value: (step) => step.value,
      title: steps.map((step) => `${step.label} ${step.value}`).join(", "),
    }),
  );
  ui.funnel.replaceChildren(
    ...steps.flatMap((step) => [
      h("dt", { text: step.label }),
      h("dd", { "data-testid": `funnel-${step.key}`, text: String(step.value) }),
    ]),
  );

  const zones = stats.dwell_by_zone;
  ui.dwellEmpty.hidden = zones.length > 0;
  ui.dwell.replaceChildren(
    ...(zones.length
      ? [
          barChart(zones, {
            label: (zone) => zone.zone_name,
            value: (zone) => zone.total_s,
            format: minutes,
            title: "Total time in each zone today",
          }),
          h(
            "table",
            { class: "table table--dwell", "data-testid": "dwell-table" },
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                h("th", { scope: "col", text: "Zone" }),
                h("th", { scope: "col", text: "Stays" }),
                h("th", { scope: "col", text: "Median" }),
                h("th", { scope: "col", text: "Total" }),
              ),
            ),
            h(
              "tbody",
              {},
              ...zones.map((zone) =>
                h(
                  "tr",
                  { "data-zone-id": zone.zone_id },
                  h("th", { scope: "row", text: zone.zone_name }),
                  h("td", { text: String(zone.stays) }),
                  h("td", { "data-testid": "dwell-median", text: minutes(zone.median_s) }),
                  h("td", { "data-testid": "dwell-total", text: minutes(zone.total_s) }),
                ),
              ),
            ),
          ),
        ]
      : []),
  );
}

poll(document.body.dataset.dataUrl, POLL_MS, render);
