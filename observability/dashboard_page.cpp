// The dashboard's one page: HTML, CSS and script.
#include "observability/dashboard_page.hpp"

namespace cafmcp::observability {

const char* dashboard_page() {
  return R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>cafmcp dashboard</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d232b; }
  header { background: #1d232b; color: #fff; padding: 10px 18px; display: flex; gap: 18px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  #conn { font-size: 12px; opacity: .8; }
  main { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; padding: 14px; }
  section { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; padding: 10px 14px; }
  h2 { font-size: 14px; margin: 0 0 8px; text-transform: uppercase; letter-spacing: .04em; color: #55606e; }
  table { border-collapse: collapse; width: 100%; }
  td, th { text-align: left; padding: 3px 8px 3px 0; border-bottom: 1px solid #eef0f3; }
  .healthy, .running, .up { color: #147a36; } .degraded, .parked { color: #a86400; }
  .unhealthy, .down, .restarting, .fenced { color: #b3261e; font-weight: 600; }
  ul.tree, ul.tree ul { list-style: none; margin: 0; padding-left: 16px; }
  ul.tree { padding-left: 0; font-family: ui-monospace, monospace; font-size: 12px; }
  .restarts { color: #55606e; } .restarts.hot { color: #b3261e; font-weight: 600; }
  canvas { width: 100%; height: 120px; }
  #alerts li { color: #b3261e; } #noalerts { color: #147a36; }
  .wide { grid-column: span 2; }
  .open { color: #b3261e; font-weight: 600; } .half_open { color: #a86400; } .closed { color: #147a36; }
</style>
</head>
<body>
<header><h1>cafmcp</h1><span id="node"></span><span id="conn">connecting…</span></header>
<main>
  <section><h2>Cluster</h2><table id="members"><thead><tr><th>node</th><th>state</th><th>health</th><th>side</th><th>sessions</th></tr></thead><tbody></tbody></table></section>
  <section><h2>Alerts</h2><ul id="alerts"></ul><div id="noalerts">no active alerts</div>
    <h2 style="margin-top:12px">Requests</h2><div id="summary"></div>
    <h2 style="margin-top:12px">Circuit breakers</h2><table id="breakers"><thead><tr><th>key</th><th>state</th><th>opened</th><th>refused</th></tr></thead><tbody></tbody></table>
    <div id="nobreakers" class="closed">every circuit closed</div><div id="limited"></div>
    <h2 style="margin-top:12px">Chaos</h2><ul id="chaos"></ul><div id="nochaos">no experiment running</div></section>
  <section><h2>Routing</h2><table id="routes"><thead><tr><th>route</th><th>target</th><th>calls</th><th>failed</th><th>fallbacks</th><th>refused</th></tr></thead><tbody></tbody></table>
    <div id="noroutes">no routed calls</div>
    <h2 style="margin-top:12px">Upstream servers</h2><table id="upstreams"><thead><tr><th>upstream</th><th>ok</th><th>errors</th><th>cancelled</th><th>starts</th></tr></thead><tbody></tbody></table>
    <div id="noupstreams">no upstream servers</div></section>
  <section><h2>Request rate (per second)</h2><canvas id="rate" width="600" height="120"></canvas></section>
  <section><h2>p95 latency (ms)</h2><canvas id="p95" width="600" height="120"></canvas></section>
  <section class="wide"><h2>Supervision tree</h2><ul class="tree" id="tree"></ul></section>
</main>
<script>
"use strict";
const el = id => document.getElementById(id);
function text(tag, content, cls) { const e = document.createElement(tag); e.textContent = content; if (cls) e.className = cls; return e; }
function drawChart(canvas, values, color) {
  const g = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  g.clearRect(0, 0, w, h);
  const max = Math.max(1, ...values);
  g.strokeStyle = "#dde1e6"; g.beginPath(); g.moveTo(0, h - 1); g.lineTo(w, h - 1); g.stroke();
  g.fillStyle = "#55606e"; g.font = "11px sans-serif"; g.fillText(max.toFixed(max < 10 ? 1 : 0), 4, 12);
  g.strokeStyle = color; g.lineWidth = 2; g.beginPath();
  values.forEach((v, i) => { const x = values.length < 2 ? 0 : i * (w - 1) / (values.length - 1); const y = h - 2 - (v / max) * (h - 16);
    i ? g.lineTo(x, y) : g.moveTo(x, y); });
  g.stroke();
}
function treeNode(n) {
  const li = document.createElement("li");
  li.appendChild(text("span", n.id + " "));
  li.appendChild(text("span", n.state, n.state));
  if (n.strategy) li.appendChild(text("span", " (" + n.strategy + ")"));
  li.appendChild(text("span", "  restarts " + n.restarts, "restarts" + (n.restarts > 0 ? " hot" : "")));
  if (n.mailbox > 0) li.appendChild(text("span", "  mailbox " + n.mailbox));
  if (n.children && n.children.length) { const ul = document.createElement("ul"); n.children.forEach(c => ul.appendChild(treeNode(c))); li.appendChild(ul); }
  return li;
}
function render(s) {
  el("node").textContent = "node " + s.node + " · " + new Date(s.time_ms).toLocaleTimeString();
  const body = el("members").querySelector("tbody"); body.replaceChildren();
  (s.members.length ? s.members : [{node: s.node, state: "up", health: "healthy", side: "-"}]).forEach(m => {
    const tr = document.createElement("tr"); tr.dataset.node = m.node;
    tr.append(text("td", m.node + (m.self ? " (this node)" : "")), text("td", m.state, m.state), text("td", m.health, m.health),
              text("td", m.side, m.side === "fenced" ? "fenced" : ""), text("td", m.node in s.sessions ? s.sessions[m.node] : "-"));
    body.appendChild(tr);
  });
  const alerts = el("alerts"); alerts.replaceChildren();
  s.alerts.forEach(a => alerts.appendChild(text("li", a.name + ": " + a.detail)));
  el("noalerts").style.display = s.alerts.length ? "none" : "block";
  el("summary").textContent = s.requests.total + " requests answered, " + s.requests.errors + " errors; now " +
    s.requests.rate.toFixed(1) + "/s, p95 " + (s.requests.p95_ms < 0 ? "-" : s.requests.p95_ms.toFixed(1) + " ms");
  const breakers = el("breakers").querySelector("tbody"); breakers.replaceChildren();
  (s.breakers || []).forEach(b => {
    const tr = document.createElement("tr"); tr.dataset.key = b.key;
    tr.append(text("td", b.key), text("td", b.state + (b.state === "open" ? " (trial in " + (b.retry_after_ms / 1000).toFixed(1) + " s)" : ""), b.state),
              text("td", b.opened), text("td", b.rejected));
    breakers.appendChild(tr);
  });
  el("nobreakers").style.display = (s.breakers || []).some(b => b.state !== "closed") ? "none" : "block";
  el("limited").textContent = s.rate_limited ? "rate limited: " + s.rate_limited.client + " client requests, " +
    s.rate_limited.tool + " tool calls; " + s.rate_limited.keys + " clients tracked" : "";
  const chaos = el("chaos"); chaos.replaceChildren();
  (s.chaos || []).forEach(x => chaos.appendChild(text("li", x.id + ": " + x.what + ", " +
    Math.max(0, Math.round((x.ends_ms - s.time_ms) / 1000)) + " s left, " + x.injected + " fault(s)", "degraded")));
  el("nochaos").style.display = (s.chaos || []).length ? "none" : "block";
  const routing = s.routing || {routes: [], upstreams: []};
  const routes = el("routes").querySelector("tbody"); routes.replaceChildren();
  routing.routes.forEach(r => Object.entries(r.targets).forEach(([target, calls], i) => {
    const tr = document.createElement("tr"); tr.dataset.route = r.route; tr.dataset.target = target;
    const failed = (r.failed || {})[target] || 0;
    tr.append(text("td", i ? "" : r.route), text("td", target), text("td", calls), text("td", failed, failed > 0 ? "unhealthy" : ""),
              text("td", i ? "" : r.fallbacks, r.fallbacks > 0 && !i ? "degraded" : ""), text("td", i ? "" : r.unavailable, r.unavailable > 0 && !i ? "unhealthy" : ""));
    routes.appendChild(tr);
  }));
  el("noroutes").style.display = routing.routes.length ? "none" : "block";
  const ups = el("upstreams").querySelector("tbody"); ups.replaceChildren();
  routing.upstreams.forEach(u => {
    const tr = document.createElement("tr"); tr.dataset.upstream = u.upstream;
    tr.append(text("td", u.upstream), text("td", u.ok), text("td", u.error, u.error > 0 ? "degraded" : ""), text("td", u.cancelled),
              text("td", u.starts, u.starts > 1 ? "degraded" : ""));
    ups.appendChild(tr);
  });
  el("noupstreams").style.display = routing.upstreams.length ? "none" : "block";
  drawChart(el("rate"), s.history.map(h => h.rate), "#2b6cb0");
  drawChart(el("p95"), s.history.map(h => Math.max(0, h.p95_ms)), "#a86400");
  const tree = el("tree"); tree.replaceChildren(); if (s.tree) tree.appendChild(treeNode(s.tree));
}
function connect() {
  const es = new EventSource("/events" + location.search); // carries ?token= when the port needs one
  es.onopen = () => { el("conn").textContent = "live"; };
  es.onmessage = e => { try { render(JSON.parse(e.data)); } catch (err) { el("conn").textContent = "bad update: " + err; } };
  es.onerror = () => { el("conn").textContent = "reconnecting…"; };
}
connect();
</script>
</body>
</html>
)html";
}

} // namespace cafmcp::observability
