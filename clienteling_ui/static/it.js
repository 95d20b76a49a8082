// The IT view: agents with their health, agents waiting for approval, zones; polled every few
// seconds. Approving posts JSON to the hub, which checks the associate's session and role.

import { h, poll } from "./views-common.js";

const POLL_MS = 4_000;
const body = document.body;
const ui = {
  pending: document.querySelector('[data-testid="pending-list"]'),
  pendingEmpty: document.querySelector('[data-testid="pending-empty"]'),
  agents: document.querySelector('[data-testid="agent-table"] tbody'),
  agentsEmpty: document.querySelector('[data-testid="agents-empty"]'),
  zones: document.querySelector('[data-testid="zone-list"]'),
  error: document.querySelector('[data-testid="error-banner"]'),
};
const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });
// Choices made in a form survive the re-render a poll brings.
const chosenZones = new Map();

function ago(value, nowMs) {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return "never";
  const seconds = Math.max(0, Math.round((nowMs - ms) / 1000));
  if (seconds < 90) return `${seconds} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  return timeFormat.format(ms);
}

function number(value, digits = 0) {
  return value === null || value === undefined ? "–" : Number(value).toFixed(digits);
}

function healthOf(agent) {
  if (agent.state === "online") return agent.gaps > 0 ? "degraded" : "healthy";
  return agent.state === "offline" ? "offline" : "unknown";
}

function agentRow(agent, nowMs) {
  const t = agent.telemetry || {};
  const health = healthOf(agent);
  return h(
    "tr",
    { "data-testid": "agent-row", "data-agent-id": agent.agent_id, "data-health": health },
    h("th", { scope: "row", text: agent.agent_id }),
    h("td", { text: agent.zone_name || agent.zone_id || "–" }),
    h("td", {}, h("span", { class: `pill pill--${health}`, "data-testid": "health", text: health })),
    h("td", { text: ago(agent.last_report_at, nowMs) }),
    h("td", { text: number(t.advertisements_per_s, 1) }),
    h("td", { text: number(t.spool_depth) }),
    h("td", { text: number(t.scanner_restarts) }),
    h("td", { text: agent.clock_offset_s === null ? "–" : `${number(agent.clock_offset_s, 2)} s` }),
    h("td", { text: number(agent.gaps) }),
  );
}

async function approve(agentId, zoneId, button) {
  button.disabled = true;
  try {
    const response = await fetch(`/tablet/it/agents/${encodeURIComponent(agentId)}/approve`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ zone_id: zoneId }),
    });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      throw new Error(problem?.error?.message || `the hub answered ${response.status}`);
    }
    chosenZones.delete(agentId);
    refresher.now();
  } catch (error) {
    ui.error.textContent = `Could not approve ${agentId}: ${error.message}`;
    ui.error.hidden = false;
    button.disabled = false;
  }
}

function pendingRow(agent, zones, nowMs) {
  const selectId = `zone-for-${agent.agent_id}`;
  const select = h("select", { id: selectId, "data-testid": "zone-select" });
  for (const zone of zones) select.append(h("option", { value: zone.zone_id, text: zone.name }));
  if (chosenZones.has(agent.agent_id)) select.value = chosenZones.get(agent.agent_id);
  select.addEventListener("change", () => chosenZones.set(agent.agent_id, select.value));
  const button = h("button", { type: "submit", class: "button", text: "Approve and assign zone" });
  const form = h(
    "form",
    { class: "row__form" },
    h("label", { for: selectId, text: "Zone" }),
    select,
    button,
  );
  button.disabled = zones.length === 0;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    approve(agent.agent_id, select.value, button);
  });
  return h(
    "li",
    { class: "row", "data-testid": "pending-agent", "data-agent-id": agent.agent_id },
    h(
      "div",
      { class: "row__text" },
      h("strong", { text: agent.agent_id }),
      h("span", { class: "muted", text: `first heard ${ago(agent.first_seen_at, nowMs)}` }),
    ),
    form,
  );
}

function render(data) {
  const nowMs = Date.parse(data.generated_at) || Date.now();
  const pending = data.agents.filter((agent) => agent.approval === "quarantined");
  const approved = data.agents.filter((agent) => agent.approval !== "quarantined");
  // A form someone is using is left alone: re-rendering would steal the focus.
  if (!ui.pending.contains(document.activeElement)) {
    ui.pending.replaceChildren(...pending.map((agent) => pendingRow(agent, data.zones, nowMs)));
  }
  ui.pendingEmpty.hidden = pending.length > 0;
  ui.agents.replaceChildren(...approved.map((agent) => agentRow(agent, nowMs)));
  ui.agentsEmpty.hidden = approved.length > 0;
  ui.zones.replaceChildren(
    ...data.zones.map((zone) =>
      h("li", { class: "chip", "data-testid": "zone", text: `${zone.name} (${zone.kind.replace("_", " ")})` }),
    ),
  );
}

const refresher = poll(body.dataset.dataUrl, POLL_MS, render);
