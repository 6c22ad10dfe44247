// nps-nlp dashboard: reads /v1 with a `read` API key kept in this tab's sessionStorage (never in the page,
// never in a URL). All answer text is inserted with textContent, never as HTML.
"use strict";

const KEY = "nps-nlp-key";
const SEGMENTS = ["country", "channel", "touchpoint", "team"];

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function fmt(x, digits = 1) {
  return x === null || x === undefined ? "-" : Number(x).toFixed(digits);
}

function pct(x) {
  return x === null || x === undefined ? "-" : (100 * x).toFixed(1) + "%";
}

function query(extra) {
  const form = new FormData(document.getElementById("filters"));
  const params = new URLSearchParams();
  for (const name of SEGMENTS) {
    const value = (form.get(name) || "").trim();
    if (value) params.set(name, value);
  }
  for (const name of ["since", "until"]) {
    const value = form.get(name);
    if (value) params.set(name, value + "T00:00:00Z");
  }
  for (const [name, value] of Object.entries(extra || {})) params.set(name, value);
  return params.toString();
}

async function get(path, extra) {
  const response = await fetch(path + "?" + query(extra), {
    headers: { Authorization: "Bearer " + (sessionStorage.getItem(KEY) || "") },
  });
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail || detail; } catch (e) { /* not JSON */ }
    throw new Error(path + ": " + response.status + " " + detail);
  }
  return response.json();
}

function quotes(items) {
  const cell = el("td");
  for (const q of items || []) {
    const block = el("blockquote", q.text);
    block.title = [q.lang, q.score === null ? "" : "score " + q.score].filter(Boolean).join(", ");
    cell.appendChild(block);
  }
  return cell;
}

function fill(section, rows) {
  const body = document.querySelector("#" + section + " tbody");
  body.replaceChildren(...rows);
  if (!rows.length) {
    const row = el("tr");
    const cell = el("td", "nothing in this selection");
    cell.colSpan = 8;
    row.appendChild(cell);
    body.appendChild(row);
  }
}

function row(cells) {
  const tr = el("tr");
  for (const cell of cells) tr.appendChild(cell instanceof Node ? cell : el("td", cell));
  return tr;
}

function num(value, cls) {
  return el("td", value, "num" + (cls ? " " + cls : ""));
}

function drawTrend(trend) {
  const svg = document.getElementById("nps-trend");
  svg.replaceChildren();
  const points = trend.filter((p) => p.nps !== null);
  if (points.length < 2) return;
  const ns = "http://www.w3.org/2000/svg";
  const x = (i) => 20 + (560 * i) / (points.length - 1);
  const y = (v) => 110 - ((v + 100) / 200) * 100; // NPS -100..100 -> 110..10
  const band = document.createElementNS(ns, "polygon");
  const upper = points.map((p, i) => x(i) + "," + y(p.ci_high ?? p.nps));
  const lower = points.map((p, i) => x(i) + "," + y(p.ci_low ?? p.nps)).reverse();
  band.setAttribute("points", upper.concat(lower).join(" "));
  band.setAttribute("class", "band");
  svg.appendChild(band);
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", points.map((p, i) => x(i) + "," + y(p.nps)).join(" "));
  svg.appendChild(line);
  for (const [i, p] of points.entries()) {
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", x(i) - 12);
    label.setAttribute("y", 118);
    label.textContent = p.period;
    const circle = document.createElementNS(ns, "title");
    circle.textContent = p.period + ": NPS " + fmt(p.nps) + " (n=" + p.n + ")";
    line.appendChild(circle);
    if (points.length <= 12 || i % Math.ceil(points.length / 12) === 0) svg.appendChild(label);
  }
}

// a change or gap with too few answers behind it is never called significant: show why rather than calling it not significant
function verdict(x) {
  if (x.too_few) return x.reason || "too few answers";
  return x.significant ? "significant" : "not significant";
}

async function showNps(period) {
  const data = await get("/v1/nps", { period });
  const o = data.overall;
  document.getElementById("nps-value").textContent = fmt(o.nps);
  document.getElementById("nps-detail").textContent =
    "95% CI " + fmt(o.ci_low) + " to " + fmt(o.ci_high) + "; n=" + o.n + " (" + o.promoters + " promoters, " +
    o.passives + " passives, " + o.detractors + " detractors)";
  const c = data.change;
  document.getElementById("nps-change").textContent = c
    ? "Last " + period + " vs the one before: " + (c.delta >= 0 ? "+" : "") + fmt(c.delta) + " (95% CI " +
      fmt(c.ci_low) + " to " + fmt(c.ci_high) + ", " + verdict(c) + ")"
    : "";
  drawTrend(data.trend);
}

async function showActionPoints(period) {
  const data = await get("/v1/action-points", { period, n_quotes: 2 });
  fill("action-points", data.items.map((a) => row([
    el("td", a.label), el("td", a.team || "-"), num(a.count), num(pct(a.share)),
    num(a.negative + " / " + a.neutral + " / " + a.positive),
    num(fmt(a.nps_with) + " / " + fmt(a.nps_without)),
    num(fmt(a.impact) + " (" + fmt(a.impact_ci[0]) + " to " + fmt(a.impact_ci[1]) + ")", a.impact < 0 ? "neg" : "pos"),
    quotes(a.quotes),
  ])));
}

async function showPassives() {
  const data = await get("/v1/action-points/passives", { n_quotes: 2 });
  fill("passives", data.items.map((p) => row([
    el("td", p.label), el("td", p.team || "-"), num(pct(p.passive_share)), num(pct(p.promoter_share)),
    num(fmt(p.gap) + " pp" + (p.gap_ci ? " (" + fmt(p.gap_ci[0]) + " to " + fmt(p.gap_ci[1]) + ")" : "")),
    el("td", verdict(p), p.too_few ? "few" : ""), quotes(p.quotes),
  ])));
}

async function showAlerts() {
  const team = new FormData(document.getElementById("filters")).get("team");
  const data = await get("/v1/alerts", { open_only: "true", limit: 25, ...(team ? { team } : {}) });
  document.getElementById("alerts-count").textContent =
    data.total > data.items.length ? "(" + data.items.length + " of " + data.total + "; the rest via GET /v1/alerts)" : "";
  fill("alerts", data.items.map((a) => row([
    el("td", a.level, "level-" + a.level), num(a.score), el("td", a.text),
    el("td", a.reasons.map((r) => r.label).join("; ")), el("td", a.team || "-"), el("td", a.status),
    el("td", new Date(a.due_at).toLocaleString() + (a.overdue ? " (overdue)" : ""), a.overdue ? "neg" : ""),
  ])));
}

async function showTeams() {
  const data = await get("/v1/teams");
  fill("teams", data.items.map((t) => row([
    el("td", t.team), num(t.problems), num(t.praise), num(t.open_alerts), num(t.overdue_alerts, t.overdue_alerts ? "neg" : ""),
  ])));
}

async function refresh() {
  const status = document.getElementById("status");
  if (!sessionStorage.getItem(KEY)) {
    status.textContent = "Enter an API key with the read scope (create one with `nps-nlp keys create --scope read`).";
    return;
  }
  status.textContent = "Loading...";
  const period = new FormData(document.getElementById("filters")).get("period") || "month";
  const results = await Promise.allSettled([showNps(period), showActionPoints(period), showPassives(), showAlerts(), showTeams()]);
  const errors = results.filter((r) => r.status === "rejected").map((r) => r.reason.message);
  status.textContent = errors.join(" | ");
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("key");
    if (input.value.trim()) sessionStorage.setItem(KEY, input.value.trim());
    input.value = "";
    refresh();
  });
  document.getElementById("forget").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    refresh();
  });
  document.getElementById("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    refresh();
  });
  refresh();
});
