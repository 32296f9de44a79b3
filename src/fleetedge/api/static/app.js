// FleetEdge dashboard: plain JavaScript, no network but this API. Live updates come as
// server-sent events ("version" when the read model changes); each one triggers a refetch.
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = { route: "fleet", vessel: null, container: null, refreshing: false, again: false, stream: null };

// -- the token: from the URL fragment (#token=...) or the dialog, kept per tab --------------
// An operator's token goes as a header on every action. When reads need a token too (an API
// that leaves the host), the token also opens a session: an HttpOnly cookie the API sets,
// which the live stream sends (an EventSource cannot send a header).
const fragmentToken = (function takeTokenFromFragment() {
  const m = location.hash.match(/token=([^&]+)/);
  if (!m) return null;
  const given = decodeURIComponent(m[1]);
  sessionStorage.setItem("fleetedge-token", given);
  history.replaceState(null, "", location.pathname + "#/");
  return given;
})();
const token = () => sessionStorage.getItem("fleetedge-token") || "";

async function signIn(given) {
  const r = await fetch("/api/session", { method: "POST", headers: { Authorization: `Bearer ${given}` } });
  if (!r.ok) { toast("that token is not valid here"); return false; }
  if (state.stream && state.stream.readyState === EventSource.CLOSED) connect();
  refresh();
  return true;
}

async function getJSON(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (r.status === 401) {
    if (!$("#token-dialog").open) { toast("sign in with a viewer or operator token"); $("#token-dialog").showModal(); }
    throw new Error(`${path}: sign-in needed`);
  }
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
}

// Send a command for the selected container; its lifecycle then shows in the list below.
async function sendCommand(action) {
  const body = { vessel: state.vessel, container_id: state.container, action, ttl_s: Number($("#command-ttl").value) };
  if (action === "set_setpoint") body.setpoint_c = Number($("#command-setpoint").value);
  const r = await fetch("/api/commands", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token()}` },
    body: JSON.stringify(body),
  });
  const doc = await r.json().catch(() => ({}));
  if (r.status === 401) { toast("operator token required"); $("#token-dialog").showModal(); return; }
  const why = Array.isArray(doc.detail) ? doc.detail.map((d) => `${d.loc[d.loc.length - 1]}: ${d.msg}`).join("; ") : doc.detail;
  toast(r.ok ? `${action.replaceAll("_", " ")} requested (${doc.command_id.slice(0, 8)})` : `refused: ${why || r.status}`);
  refresh();
}

function renderCommands(commands) {
  $("#command-list").replaceChildren(...commands.map((c) =>
    el("li", { class: `command ${c.status}`, "data-command-id": c.command_id, "data-status": c.status },
      el("strong", {}, `${c.action.replaceAll("_", " ")}${c.params.setpoint_c !== undefined ? ` ${c.params.setpoint_c} °C` : ""} · ${c.status}`),
      el("span", {}, ` by ${c.issued_by}, expires ${c.expires_at.replace("T", " ").slice(0, 19)}`),
      el("small", {}, c.steps.map((s) => `${s.step} ${s.at.replace("T", " ").slice(11, 19)}${s.reason ? ` (${s.reason})` : ""}`).join(" → ")))));
}

async function act(path, body) {
  const r = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token()}` },
    body: JSON.stringify(body || {}),
  });
  const doc = await r.json().catch(() => ({}));
  if (r.status === 401) { toast("operator token required"); $("#token-dialog").showModal(); return; }
  toast(r.ok ? doc.done : `refused: ${doc.detail || r.status}`);
  refresh();
}

function toast(text) {
  const t = $("#toast");
  t.textContent = text;
  t.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove("show"), 3500);
}

const el = (tag, attrs = {}, ...children) => {
  const svg = ["circle", "text", "g", "line", "path", "rect", "polyline"].includes(tag);
  const node = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "onclick") node.addEventListener("click", v);
    else if (v !== null && v !== undefined) node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
};
const fmt = (v, unit = "", digits = 0) => (v === null || v === undefined ? "–" : `${Number(v).toFixed(digits)}${unit}`);
const secs = (v) => (v === null || v === undefined ? "–" : v < 120 ? `${v.toFixed(0)} s` : `${(v / 60).toFixed(1)} min`);

// -- fleet view ----------------------------------------------------------------------------
function renderKpis(k, vessels) {
  const byState = k.containers_by_state || {};
  const alerts = Object.values(k.open_alerts || {}).reduce(
    (acc, sev) => { for (const [s, n] of Object.entries(sev)) acc[s] = (acc[s] || 0) + n; return acc; }, {});
  const power = Object.values(k.reefer_power_kw_by_vessel || {}).reduce((a, b) => a + b, 0);
  const links = k.vessels_by_link_state || {};
  const items = [
    ["vessels", vessels.length],
    ["reefers", k.containers || 0],
    ["ok", byState.ok || 0],
    ["excursion", byState.excursion || 0],
    ["power off", byState.power_off || 0],
    ["critical alerts", alerts.critical || 0],
    ["warnings", alerts.warning || 0],
    ["reefer power", `${power.toFixed(0)} kW`],
    ["links online", `${links.online || 0}/${vessels.length}`],
  ];
  $("#kpis").replaceChildren(...items.map(([label, value]) =>
    el("div", { class: "kpi", "data-kpi": label }, el("b", {}, String(value)), el("span", {}, label))));
}

function renderMap(vessels) {
  const g = $("#vessel-markers");
  g.replaceChildren(...vessels.filter((v) => v.lat !== null && v.lon !== null).map((v) => {
    const x = v.lon + 180, y = 90 - v.lat, st = v.link.state || "unknown";
    return el("g", { class: `vessel ${st}`, "data-vessel": v.vessel_id, transform: `translate(${x.toFixed(2)},${y.toFixed(2)})`,
      onclick: () => { location.hash = `#/vessel/${v.vessel_id}`; } },
      el("circle", { r: 2.4 }), el("text", { x: 3.5, y: 1.6 }, `${v.vessel_id} · ${st}`));
  }));
}

function renderAlerts(alerts) {
  $("#alert-feed").replaceChildren(...alerts.map((a) =>
    el("li", { class: `${a.severity} ${a.state}`, "data-alert": a.alert_id },
      el("strong", {}, `${a.kind.replaceAll("_", " ")} · ${a.vessel_id}${a.bay !== null ? ` bay ${a.bay}` : ""}`),
      el("span", {}, ` ${a.summary}`),
      el("small", {}, `${a.severity} · ${a.state} · raised ${a.raised_at.replace("T", " ").slice(0, 16)}`))));
}

function renderLinks(vessels) {
  $("#links tbody").replaceChildren(...vessels.map((v) => {
    const st = v.link.state || "unknown";
    return el("tr", { "data-vessel": v.vessel_id },
      el("td", {}, el("a", { href: `#/vessel/${v.vessel_id}` }, v.vessel_id)),
      el("td", {}, el("span", { class: `state ${st}`, "data-link-state": st }, st)),
      el("td", {}, `${fmt(v.link.backlog_records)} records`),
      el("td", {}, secs(v.link.oldest_unmirrored_s)),
      el("td", {}, secs(v.link.heartbeat_age_s)),
      el("td", {}, secs(v.link.seconds_to_drain)),
      el("td", {},
        el("button", { class: "danger", "data-action": "cut-link", onclick: () => act("/api/chaos/cut-link", { vessel: v.vessel_id }) }, "cut link"), " ",
        el("button", { "data-action": "restore-link", onclick: () => act("/api/chaos/restore-link", { vessel: v.vessel_id }) }, "restore"), " ",
        el("button", { class: "danger", "data-action": "kill-broker", onclick: () => act("/api/chaos/kill-broker", { vessel: v.vessel_id, node: 3 }) }, "kill broker 3")));
  }));
}

function renderProcesses(p) {
  $("#processes").replaceChildren(...p.services.map((s) =>
    el("span", { class: `chip ${s.phase}`, title: `pid ${s.pid ?? "-"}, restarts ${s.restarts}` },
      `${s.name} · ${s.phase}${s.restarts ? ` · ${s.restarts}↻` : ""} `,
      el("button", { class: "danger", onclick: () => act("/api/chaos/kill-service", { name: s.name }) }, "kill"))));
}

// -- vessel view ---------------------------------------------------------------------------
function renderVessel(v, containers) {
  $("#vessel-title").textContent = `${v ? v.vessel_id : state.vessel}`;
  $("#vessel-summary").textContent = v
    ? `${v.containers_total ?? 0} reefers · ${v.open_alerts ?? 0} open alerts · ${fmt(v.reefer_power_kw, " kW", 1)} · link ${v.link.state ?? "unknown"} · position ${fmt(v.lat, "°", 2)}, ${fmt(v.lon, "°", 2)}`
    : "no data yet";
  $("#containers").replaceChildren(...containers.map((c) =>
    el("div", { class: `cell ${c.state}${c.container_id === state.container ? " selected" : ""}`, "data-container": c.container_id,
      title: `${c.container_id} · ${c.cargo} · ${c.state} · supply ${fmt(c.supply_mean_c, " °C", 1)} / setpoint ${fmt(c.setpoint_c, " °C", 1)}`,
      onclick: () => { state.container = c.container_id; refresh(); } })));
}

function setReportLinks(id) {
  const schedule = $("#report-schedule").value;
  const base = `/api/containers/${encodeURIComponent(id)}/report?` + (schedule ? `schedule=${encodeURIComponent(schedule)}&` : "");
  for (const format of ["pdf", "csv", "json"]) $(`#report-${format}`).href = `${base}format=${format}`;
}

function renderChart(id, windows) {
  $("#chart-panel").hidden = false;
  setReportLinks(id);
  $("#chart-title").textContent = `${id}: supply air, ${windows.length} windows`;
  const svg = $("#chart"), W = 800, H = 260, L = 48, R = 10, T = 12, B = 28;
  if (!windows.length) { svg.replaceChildren(el("text", { x: 20, y: 30 }, "no windows yet")); return; }
  const vals = windows.flatMap((w) => [w.supply_min_c, w.supply_max_c, w.setpoint_c]).filter((v) => v !== null);
  let lo = Math.min(...vals), hi = Math.max(...vals);
  if (hi - lo < 2) { lo -= 1; hi += 1; }
  const x = (i) => L + (windows.length === 1 ? 0 : (i * (W - L - R)) / (windows.length - 1));
  const y = (v) => T + ((hi - v) * (H - T - B)) / (hi - lo);
  const parts = [el("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }), el("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B })];
  for (let k = 0; k <= 4; k++) {
    const v = lo + ((hi - lo) * k) / 4;
    parts.push(el("text", { x: 4, y: y(v) + 4 }, `${v.toFixed(1)}°`));
  }
  windows.forEach((w, i) => {
    if (w.seconds_out_of_range > 0) parts.push(el("rect", { x: x(i) - 3, y: T, width: 6, height: H - T - B, fill: "rgba(226,82,92,.35)", "data-excursion": w.seq }));
  });
  const band = windows.map((w, i) => `${x(i)},${y(w.supply_max_c)}`).concat(windows.map((w, i) => `${x(i)},${y(w.supply_min_c)}`).reverse());
  parts.push(el("polyline", { points: band.join(" "), fill: "rgba(79,157,224,.25)", stroke: "none" }));
  parts.push(el("polyline", { class: "setpoint", points: windows.map((w, i) => `${x(i)},${y(w.setpoint_c)}`).join(" "), fill: "none", stroke: "#e0a83a", "stroke-dasharray": "5 4" }));
  parts.push(el("polyline", { class: "mean", points: windows.map((w, i) => `${x(i)},${y(w.supply_mean_c)}`).join(" "), fill: "none", stroke: "#4f9de0", "stroke-width": 2 }));
  windows.forEach((w, i) => parts.push(el("circle", { class: "point", cx: x(i), cy: y(w.supply_mean_c), r: 2.2, fill: w.seconds_out_of_range > 0 ? "#e2525c" : "#4f9de0" })));
  parts.push(el("text", { x: L, y: H - 8 }, windows[0].window_start.replace("T", " ").slice(0, 16)));
  parts.push(el("text", { x: W - R - 110, y: H - 8 }, windows[windows.length - 1].window_end.replace("T", " ").slice(0, 16)));
  svg.replaceChildren(...parts);
}

// -- routing and refresh -------------------------------------------------------------------
function route() {
  const m = location.hash.match(/^#\/vessel\/([\w-]+)/);
  state.route = m ? "vessel" : "fleet";
  if (m && m[1] !== state.vessel) { state.vessel = m[1]; state.container = null; $("#chart-panel").hidden = true; }
  $("#fleet-view").hidden = state.route !== "fleet";
  $("#vessel-view").hidden = state.route !== "vessel";
  refresh();
}

async function refresh() {
  if (state.refreshing) { state.again = true; return; }
  state.refreshing = true;
  try {
    const [kpis, vessels] = await Promise.all([getJSON("/api/kpis"), getJSON("/api/vessels")]);
    renderKpis(kpis.kpis, vessels);
    if (state.route === "fleet") {
      const [alerts, processes] = await Promise.all([getJSON("/api/alerts?limit=40"), getJSON("/api/processes")]);
      renderMap(vessels); renderAlerts(alerts); renderLinks(vessels); renderProcesses(processes);
    } else {
      const containers = await getJSON(`/api/vessels/${state.vessel}/containers`);
      renderVessel(vessels.find((v) => v.vessel_id === state.vessel), containers);
      $("#summary-link").href = `/api/reports/summary?format=html&vessel=${encodeURIComponent(state.vessel)}`;
      if (state.container) {
        const id = encodeURIComponent(state.container);
        const [history, commands] = await Promise.all([
          getJSON(`/api/containers/${id}/history?limit=96`), getJSON(`/api/commands?container=${id}&limit=20`)]);
        renderChart(state.container, history);
        renderCommands(commands);
      }
    }
  } catch (err) {
    console.warn(err);
  } finally {
    state.refreshing = false;
    if (state.again) { state.again = false; refresh(); }
  }
}

function connect() {
  const live = $("#live");
  const source = new EventSource("/api/stream");
  state.stream = source;
  source.addEventListener("open", () => { live.textContent = "live"; live.className = "live on"; });
  source.addEventListener("version", () => refresh());
  source.addEventListener("error", () => { live.textContent = "reconnecting"; live.className = "live off"; });
}

function drawGraticule() {
  const g = $("#graticule");
  for (let lon = 30; lon < 360; lon += 30) g.append(el("line", { x1: lon, y1: 0, x2: lon, y2: 180 }));
  for (let lat = 30; lat < 180; lat += 30) g.append(el("line", { x1: 0, y1: lat, x2: 360, y2: lat }));
}

$("#report-schedule").addEventListener("change", () => { if (state.container) setReportLinks(state.container); });
$("#command-form").addEventListener("submit", (e) => { e.preventDefault(); sendCommand("set_setpoint"); });
for (const b of document.querySelectorAll("#command-form button[type=button]")) {
  b.addEventListener("click", () => sendCommand(b.dataset.command));
}
$("#token-button").addEventListener("click", () => { $("#token-input").value = token(); $("#token-dialog").showModal(); });
$("#token-save").addEventListener("click", () => {
  const given = $("#token-input").value.trim();
  sessionStorage.setItem("fleetedge-token", given);
  if (given) signIn(given);
});
window.addEventListener("hashchange", route);
drawGraticule();
(fragmentToken ? signIn(fragmentToken) : Promise.resolve()).finally(() => { route(); if (!state.stream) connect(); });
setInterval(refresh, 15000); // a safety net beside the event stream
