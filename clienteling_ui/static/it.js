// The IT view: agents with their health, agents waiting for approval, zones; live over
// Socket.IO (namespace /it). The hub sends the whole picture on connect and on `resync`, then
// each agent's new row as it changes (at most every 2 s per agent). Approving posts JSON to
// the hub, which checks the associate's session and role; the change comes back as a push.

import { openLiveSocket } from "./live_socket.js";
import { h } from "./views-common.js";

const VENDOR_URL = new URL("./vendor/socket.io.esm.min.js", import.meta.url);
const NAMESPACE = "/it";
const TICK_MS = 1_000;

const body = document.body;
const ui = {
  pending: document.querySelector('[data-testid="pending-list"]'),
  pendingEmpty: document.querySelector('[data-testid="pending-empty"]'),
  agents: document.querySelector('[data-testid="agent-table"] tbody'),
  agentsEmpty: document.querySelector('[data-testid="agents-empty"]'),
  zones: document.querySelector('[data-testid="zone-list"]'),
  status: document.querySelector('[data-testid="connection-status"]'),
  offline: document.querySelector('[data-testid="offline-banner"]'),
  error: document.querySelector('[data-testid="error-banner"]'),
};
const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });

const agents = new Map();
let zones = [];
// The hub's clock minus ours, so "3 s ago" counts from the hub's idea of now.
let skewMs = 0;
let snapshotPending = true;

const serverNow = () => Date.now() + skewMs;
const byId = (a, b) => a.agent_id.localeCompare(b.agent_id);

function ago(value, nowMs) {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return "never";
  const seconds = Math.max(0, Math.round((nowMs - ms) / 1000));
  if (seconds < 90) return `${seconds} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  return timeFormat.format(ms);
}

/** A cell (or span) whose "… ago" text the local tick keeps current. */
function since(tag, value, { prefix = "", ...attrs } = {}) {
  const text = prefix + ago(value, serverNow());
  return h(tag, { ...attrs, "data-since": value || "", "data-prefix": prefix, text });
}

function firstHeard(agent) {
  return since("span", agent.first_seen_at, {
    prefix: "first heard ",
    class: "muted",
    "data-testid": "first-heard",
  });
}

function number(value, digits = 0) {
  return value === null || value === undefined ? "–" : Number(value).toFixed(digits);
}

// Where IT measured the device, in the zones' frame; the position tracker uses it.
function position(agent) {
  const placed = typeof agent.x_m === "number" && typeof agent.y_m === "number";
  const text = placed ? `x ${agent.x_m.toFixed(1)} m, y ${agent.y_m.toFixed(1)} m` : "position not set";
  return h("div", { class: "muted", "data-testid": "position", text });
}

// How much louder than the other placed agents this one hears phones, as the hub measured it
// from the traffic (it corrects for it); far off is worth a look at how the device is mounted.
const FAR_RECEIVER_DB = 6;

function receiver(agent) {
  const db = agent.measured_offset_db;
  if (typeof db !== "number") return null;
  const far = Math.abs(db) >= FAR_RECEIVER_DB;
  // To a tenth, and never "-0.0" for an agent that agrees with the others.
  const tenth = Math.round(db * 10) / 10 || 0;
  return h("div", {
    class: far ? "receiver receiver--far" : "muted",
    "data-testid": "receiver",
    "data-far": far,
    title: far ? "far from the other agents: check it is mounted where and as planned" : null,
    text: `hears ${tenth > 0 ? "+" : ""}${tenth.toFixed(1)} dB vs other agents`,
  });
}

function healthOf(agent) {
  if (agent.state === "online") return agent.gaps > 0 ? "degraded" : "healthy";
  return agent.state === "offline" ? "offline" : "unknown";
}

function agentRow(agent) {
  const t = agent.telemetry || {};
  const health = healthOf(agent);
  return h(
    "tr",
    { "data-testid": "agent-row", "data-agent-id": agent.agent_id, "data-health": health },
    h("th", { scope: "row", text: agent.agent_id }),
    h("td", {}, agent.zone_name || agent.zone_id || "–", position(agent), receiver(agent)),
    h("td", {}, h("span", { class: `pill pill--${health}`, "data-testid": "health", text: health })),
    since("td", agent.last_report_at),
    h("td", { "data-testid": "adverts", text: number(t.advertisements_per_s, 1) }),
    h("td", { "data-testid": "spool", text: number(t.spool_depth) }),
    h("td", { "data-testid": "restarts", text: number(t.scanner_restarts) }),
    h("td", { text: agent.clock_offset_s === null ? "–" : `${number(agent.clock_offset_s, 2)} s` }),
    h("td", { text: number(agent.gaps) }),
  );
}

function showError(message) {
  ui.error.textContent = message;
  ui.error.hidden = false;
}

async function approve(agentId, zoneId, position, button) {
  button.disabled = true;
  ui.error.hidden = true;
  try {
    const response = await fetch(`/tablet/it/agents/${encodeURIComponent(agentId)}/approve`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ zone_id: zoneId, ...position }),
    });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      throw new Error(problem?.error?.message || `the hub answered ${response.status}`);
    }
    // The approved row arrives over the socket and moves the agent out of this list.
  } catch (error) {
    showError(`Could not approve ${agentId}: ${error.message}`);
    button.disabled = false;
  }
}

function fillZones(select) {
  const key = JSON.stringify(zones);
  if (select.dataset.zones === key) return;
  const chosen = select.value;
  select.replaceChildren(...zones.map((zone) => h("option", { value: zone.zone_id, text: zone.name })));
  if (zones.some((zone) => zone.zone_id === chosen)) select.value = chosen;
  select.dataset.zones = key;
}

// Where the device hangs, in metres from the store's reference corner: optional, but with it
// the hub can track shoppers' positions (docs/operations.md, "Agent positions").
function coordinate(agentId, axis) {
  const id = `${axis}-for-${agentId}`;
  const input = h("input", {
    id,
    type: "number",
    step: "0.1",
    inputmode: "decimal",
    class: "row__coordinate",
    "data-testid": `position-${axis}`,
  });
  return [h("label", { for: id, text: `${axis} (m)` }), input];
}

function positionOf(xInput, yInput) {
  if (xInput.value === "" && yInput.value === "") return {};
  return { x_m: xInput.valueAsNumber, y_m: yInput.valueAsNumber };
}

function pendingRow(agent) {
  const selectId = `zone-for-${agent.agent_id}`;
  const select = h("select", { id: selectId, "data-testid": "zone-select" });
  const [xLabel, xInput] = coordinate(agent.agent_id, "x");
  const [yLabel, yInput] = coordinate(agent.agent_id, "y");
  const button = h("button", { type: "submit", class: "button", text: "Approve and assign zone" });
  const form = h(
    "form",
    { class: "row__form" },
    h("label", { for: selectId, text: "Zone" }),
    select,
    xLabel,
    xInput,
    yLabel,
    yInput,
    button,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if ((xInput.value === "") !== (yInput.value === "")) {
      showError(`Give both x and y for ${agent.agent_id}, or leave both empty.`);
      return;
    }
    approve(agent.agent_id, select.value, positionOf(xInput, yInput), button);
  });
  return h(
    "li",
    { class: "row", "data-testid": "pending-agent", "data-agent-id": agent.agent_id },
    h(
      "div",
      { class: "row__text" },
      h("strong", { text: agent.agent_id }),
      firstHeard(agent),
    ),
    form,
  );
}

// Rows in the waiting list are kept, not redrawn: a zone being chosen or a focused button
// survives the pushes that keep arriving for other agents.
function renderPending(pending) {
  const keep = new Set(pending.map((agent) => agent.agent_id));
  for (const li of [...ui.pending.children]) {
    if (!keep.has(li.dataset.agentId)) li.remove();
  }
  const existing = new Map([...ui.pending.children].map((li) => [li.dataset.agentId, li]));
  let previous = null;
  for (const agent of pending) {
    const li = existing.get(agent.agent_id) || pendingRow(agent);
    li.querySelector('[data-testid="first-heard"]').replaceWith(firstHeard(agent));
    fillZones(li.querySelector("select"));
    li.querySelector("button").disabled = zones.length === 0;
    const next = previous ? previous.nextElementSibling : ui.pending.firstElementChild;
    if (li !== next) ui.pending.insertBefore(li, next);
    previous = li;
  }
  ui.pendingEmpty.hidden = pending.length > 0;
}

function render() {
  const all = [...agents.values()].sort(byId);
  const pending = all.filter((agent) => agent.approval === "quarantined");
  const approved = all.filter((agent) => agent.approval !== "quarantined");
  renderPending(pending);
  ui.agents.replaceChildren(...approved.map(agentRow));
  ui.agentsEmpty.hidden = approved.length > 0;
  ui.zones.replaceChildren(
    ...zones.map((zone) =>
      h("li", { class: "chip", "data-testid": "zone", text: `${zone.name} (${zone.kind.replace("_", " ")})` }),
    ),
  );
}

function setServerTime(value) {
  const ms = Date.parse(value);
  if (!Number.isNaN(ms)) skewMs = ms - Date.now();
}

function showSnapshot(snapshot) {
  snapshotPending = false;
  setServerTime(snapshot.server_time);
  agents.clear();
  for (const agent of snapshot.agents || []) agents.set(agent.agent_id, agent);
  zones = Array.isArray(snapshot.zones) ? snapshot.zones : [];
  render();
  body.dataset.loaded = "true";
}

function applyChanges(change) {
  // Changes before the snapshot are in it (the hub joins the room first, then reads).
  if (snapshotPending) return;
  setServerTime(change.server_time);
  for (const agent of change.agents || []) agents.set(agent.agent_id, agent);
  render();
}

function tick() {
  const now = serverNow();
  for (const el of document.querySelectorAll("[data-since]")) {
    el.textContent = el.dataset.prefix + ago(el.dataset.since, now);
  }
}

// ---------------------------------------------------------------------------------------------
// Connection

function setStatus(kind, text) {
  ui.status.dataset.state = kind;
  ui.status.textContent = text;
}

function connect(io) {
  const socket = openLiveSocket(io, {
    namespace: NAMESPACE,
    storeId: body.dataset.storeId,
    isSnapshotPending: () => snapshotPending,
    setStatus,
    offline: ui.offline,
    onDisconnect: () => {
      snapshotPending = true;
    },
    onRefused: (message) => showError(`Cannot show this store's devices: ${message}`),
  });
  socket.on("agents", showSnapshot);
  socket.on("agents_changed", applyChanges);
  return socket;
}

async function start() {
  let io;
  try {
    ({ io } = await import(VENDOR_URL.href));
  } catch (error) {
    console.error(error);
    setStatus("error", "Not connected");
    showError("UI assets not built: run scripts/build_ui.sh");
    return;
  }
  connect(io);
  setInterval(tick, TICK_MS);
}

start();
