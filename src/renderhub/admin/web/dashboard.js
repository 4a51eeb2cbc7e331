// The operator's dashboard. Everything it shows comes from the admin API (docs/admin-api.md),
// called with the admin token this tab keeps in sessionStorage: the page itself holds no data,
// and the token never goes into the URL the browser keeps (it is taken out of `#token=`).

import { takeToken } from "./page_token.js";

const TOKEN_KEY = "renderhub.adminToken";
const REFRESH_MS = 5000;
const USAGE_REFRESH_MS = 30000; // usage moves slowly; its query is the heaviest
const USAGE_DAYS = 30;
const CONVERSIONS_SHOWN = 50;
const SIZES = ["Standard", "Premium"];

/** A refusal of the admin token (401, 403): the page asks for a token again. */
class TokenRefused extends Error {}

const $ = (id) => document.getElementById(id);
const board = {
  accounts: new Map(), // accountId -> Account
  sessions: [], // the live sessions as last read
  sessionsReadAt: 0, // performance.now() when they were read: the lease countdown's origin
  usageReadAt: -Infinity,
  chart: null,
  timer: null,
  ticker: null,
  reading: false, // a refresh is under way
  again: false, // and another was asked for meanwhile
};

// ---- Readable values ------------------------------------------------------------------------

const pad = (n) => String(n).padStart(2, "0");

/** 75 -> "1m 15s", 3720 -> "1h 02m", 93600 -> "1d 02h". */
function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d ${pad(Math.floor((s % 86400) / 3600))}h`;
}

const localTime = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });
const localDateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** An ISO time of the API, in the browser's own time zone (the time alone when it is today). */
function when(iso) {
  if (!iso) return "–";
  const moment = new Date(iso);
  const today = moment.toDateString() === new Date().toDateString();
  return today ? localTime.format(moment) : localDateTime.format(moment);
}

const count = new Intl.NumberFormat();

function money(amount, currency) {
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(amount);
  } catch {
    return `${amount.toFixed(2)} ${currency}`;
  }
}

function quota(active, limit) {
  if (limit === null || limit === undefined) return `${active} (no limit)`;
  return limit === 0 ? `${active} (none allowed)` : `${active} of ${limit}`;
}

function accountName(accountId) {
  const account = board.accounts.get(accountId);
  return account && account.name ? account.name : shortId(accountId);
}

const shortId = (id) => (id && id.length > 13 ? `${id.slice(0, 8)}…` : id || "–");

// ---- The admin API --------------------------------------------------------------------------

async function api(path, options = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) throw new TokenRefused("Enter an admin token to open the dashboard.");
  let response;
  try {
    response = await fetch(path, {
      ...options,
      cache: "no-store",
      headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
    });
  } catch (problem) {
    throw new Error(`Cannot reach the server (${problem.message}); trying again shortly.`);
  }
  const body = await readBody(response);
  const message = body && body.error && body.error.message;
  if (response.status === 401) {
    throw new TokenRefused(`The server refused this admin token: ${message || "unknown or revoked"}`);
  }
  if (response.status === 403) {
    throw new TokenRefused(message || "This token may not use the admin API.");
  }
  if (!response.ok) throw new Error(`${path.split("?")[0]}: ${message || `${response.status} ${response.statusText}`}`);
  return body;
}

async function readBody(response) {
  if (response.status === 204) return null;
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return { error: { message: text.slice(0, 200) || response.statusText } };
  }
}

// ---- The token ------------------------------------------------------------------------------

function askForToken(reason) {
  clearTimeout(board.timer);
  board.again = false;
  clearInterval(board.ticker);
  board.timer = board.ticker = null;
  sessionStorage.removeItem(TOKEN_KEY);
  $("board").hidden = true;
  $("forget").hidden = true;
  $("problem").hidden = true;
  $("updated").textContent = "";
  $("signin").hidden = false;
  if (reason) {
    $("signin-reason").textContent = reason;
    $("signin-reason").classList.add("refused");
  }
  $("token").value = "";
  $("token").focus();
}

function openBoard() {
  $("signin").hidden = true;
  $("board").hidden = false;
  $("forget").hidden = false;
  board.usageReadAt = -Infinity;
  board.ticker = setInterval(tickLeases, 1000);
  refresh();
}

// ---- Refreshing -----------------------------------------------------------------------------

/** Read everything again, then again in REFRESH_MS; one reading at a time (a refresh asked
 * for meanwhile, after a stop for instance, runs right after it). */
async function refresh() {
  clearTimeout(board.timer);
  if (board.reading) {
    board.again = true;
    return;
  }
  board.reading = true;
  let refused;
  try {
    refused = await readAll();
  } finally {
    board.reading = false;
  }
  if (refused) return askForToken(refused.message);
  if ($("board").hidden) return; // the token was refused meanwhile (a stop, say)
  board.timer = setTimeout(refresh, board.again ? 0 : REFRESH_MS);
  board.again = false;
}

/** Every section once; the token's refusal if any section got one. */
async function readAll() {
  const accounts = await settle(loadAccounts());
  const due = performance.now() - board.usageReadAt >= USAGE_REFRESH_MS;
  const others = await Promise.all([
    settle(loadSessions()),
    settle(loadConversions()),
    due ? settle(loadUsage()) : null,
  ]);
  const refused = [accounts, ...others].find((problem) => problem instanceof TokenRefused);
  if (refused) return refused;
  showProblem(accounts);
  $("updated").textContent = `Updated ${localTime.format(new Date())} · every ${REFRESH_MS / 1000} s`;
  return null;
}

/** Run a section's loader; return its problem (or null) instead of throwing. */
async function settle(loading) {
  try {
    await loading;
    return null;
  } catch (problem) {
    return problem;
  }
}

function showProblem(problem) {
  $("problem").hidden = !problem;
  $("problem").textContent = problem ? problem.message : "";
}

/** Each section says its own problem (a route missing, a server error) and keeps the rest. */
async function section(id, work) {
  const note = document.querySelector(`#${id} .section-problem`);
  try {
    await work();
    note.hidden = true;
  } catch (problem) {
    if (problem instanceof TokenRefused) throw problem;
    note.textContent = `Cannot show this: ${problem.message}`;
    note.hidden = false;
    throw problem;
  }
}

// ---- Accounts -------------------------------------------------------------------------------

function loadAccounts() {
  return section("accounts", async () => {
    const { accounts } = await api("/admin/accounts");
    board.accounts = new Map(accounts.map((account) => [account.accountId, account]));
    fill("accounts", accounts, accountRow);
    const disabled = accounts.filter((account) => account.disabled).length;
    $("tile-accounts").textContent = count.format(accounts.length);
    $("tile-accounts-detail").textContent = disabled ? `${disabled} disabled` : "all enabled";
    const converting = accounts.reduce((sum, account) => sum + (account.activeConversions || 0), 0);
    $("tile-conversions").textContent = count.format(converting);
  });
}

function accountRow(account) {
  const quotas = account.quotas || {};
  const active = account.activeSessions || {};
  const lease = quotas.maxLeaseMinutes == null ? "no limit" : duration(quotas.maxLeaseMinutes * 60);
  const state = account.disabled ? `Disabled since ${when(account.disabledAt)}` : "Enabled";
  const row = cells([
    account.name || "(no name)",
    { text: shortId(account.accountId), title: account.accountId, className: "id" },
    when(account.created),
    { text: state, className: account.disabled ? "status Disabled" : "status Enabled" },
    quota(active.Standard || 0, quotas.maxStandardSessions),
    quota(active.Premium || 0, quotas.maxPremiumSessions),
    lease,
    quota(account.activeConversions || 0, quotas.maxConversions),
  ]);
  row.dataset.accountId = account.accountId;
  return row;
}

// ---- Live sessions --------------------------------------------------------------------------

function loadSessions() {
  return section("sessions", async () => {
    const { sessions } = await api("/admin/sessions?status=active&limit=1000");
    board.sessions = sessions;
    board.sessionsReadAt = performance.now();
    fill("sessions", sessions, sessionRow);
    const bySize = SIZES.map((size) => `${sessions.filter((s) => s.size === size).length} ${size}`);
    $("tile-sessions").textContent = count.format(sessions.length);
    $("tile-sessions-detail").textContent = bySize.join(" · ");
  });
}

function sessionRow(session) {
  const lease = { text: "", className: "lease number" };
  const host = session.host ? hostLink(session) : "–";
  const stop = document.createElement("button");
  stop.type = "button";
  stop.className = "stop";
  stop.dataset.action = "stop";
  showStoppable(stop, session.status);
  stop.addEventListener("click", () => stopSession(session, stop));
  const row = cells([
    { text: shortId(session.sessionId), title: session.sessionId, className: "id" },
    accountName(session.accountId),
    session.size,
    { text: session.status, className: `status ${session.status}` },
    lease,
    host,
    { text: session.polygons == null ? "–" : count.format(session.polygons), className: "number" },
    when(session.created),
    stop,
  ]);
  row.dataset.sessionId = session.sessionId;
  row.dataset.accountId = session.accountId;
  row.dataset.status = session.status;
  setLease(row, session);
  return row;
}

/** The host's address, linking to its inspector while it runs (the inspector asks for an
 * access token of the session's account: the admin token is not sent to hosts). */
function hostLink(session) {
  if (!session.inspector) return session.host;
  const link = document.createElement("a");
  link.href = session.inspector;
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  link.textContent = session.host;
  link.title = "The host's inspector (it asks for an access token of the account)";
  return link;
}

function showStoppable(button, status) {
  const stoppable = status === "Starting" || status === "Ready";
  button.disabled = !stoppable;
  button.textContent = stoppable ? "Stop" : status === "Stopping" ? "Stopping…" : "Stopped";
}

/** The lease left, counted down from what the API said when the sessions were read. */
function setLease(row, session) {
  const cell = row.querySelector(".lease");
  if (session.leaseLeftSeconds === null || session.leaseLeftSeconds === undefined) {
    cell.textContent = `${duration(session.leaseMinutes * 60)} lease`;
    cell.title = "The lease counts from Ready.";
    return;
  }
  const elapsed = (performance.now() - board.sessionsReadAt) / 1000;
  const left = session.leaseLeftSeconds - elapsed;
  cell.textContent = left > 0 ? duration(left) : "expiring";
  cell.title = session.leaseEnds ? `Ends ${when(session.leaseEnds)}` : "";
}

function tickLeases() {
  for (const session of board.sessions) {
    const row = document.querySelector(
      `#sessions tr[data-session-id="${CSS.escape(session.sessionId)}"][data-account-id="${CSS.escape(session.accountId)}"]`,
    );
    if (row) setLease(row, session);
  }
}

async function stopSession(session, button) {
  button.disabled = true;
  button.textContent = "Stopping…";
  const path = `/admin/sessions/${encodeURIComponent(session.accountId)}/${encodeURIComponent(session.sessionId)}:stop`;
  try {
    const stopped = await api(path, { method: "POST" });
    Object.assign(session, stopped);
    const row = button.closest("tr");
    row.dataset.status = stopped.status;
    const status = row.querySelector(".status");
    status.textContent = stopped.status;
    status.className = `status ${stopped.status}`;
    showStoppable(button, stopped.status);
    showProblem(null);
  } catch (problem) {
    if (problem instanceof TokenRefused) return askForToken(problem.message);
    showStoppable(button, session.status);
    showProblem(new Error(`The session ${session.sessionId} could not be stopped: ${problem.message}`));
  }
  setTimeout(refresh, 1000);
}

// ---- Conversions ----------------------------------------------------------------------------

function loadConversions() {
  return section("conversions", async () => {
    const { conversions } = await api(`/admin/conversions?limit=${CONVERSIONS_SHOWN}`);
    fill("conversions", conversions, conversionRow);
    const running = conversions.filter((c) => !["Succeeded", "Failed", "Cancelled"].includes(c.status));
    $("tile-conversions-detail").textContent = `${conversions.length} listed, ${running.length} not finished`;
  });
}

function conversionRow(conversion) {
  const started = conversion.started ? Date.parse(conversion.started) : null;
  const ended = conversion.ended ? Date.parse(conversion.ended) : null;
  const took = started === null ? "–" : `${duration(((ended || Date.now()) - started) / 1000)}${ended ? "" : " so far"}`;
  const input = conversion.input || "";
  const error = [conversion.errorCode, conversion.errorMessage].filter(Boolean).join(": ");
  const row = cells([
    { text: shortId(conversion.conversionId), title: conversion.conversionId, className: "id" },
    accountName(conversion.accountId),
    { text: conversion.status, className: `status ${conversion.status}` },
    when(conversion.created),
    took,
    { text: input.split("/").slice(-2).join("/") || "–", title: input, className: "path" },
    { text: error || "–", className: error ? "error" : "" },
  ]);
  row.dataset.conversionId = conversion.conversionId;
  return row;
}

// ---- Usage ----------------------------------------------------------------------------------

function loadUsage() {
  return section("usage", async () => {
    const today = new Date();
    const since = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - (USAGE_DAYS - 1)));
    const usage = await api(`/admin/usage?by=day&since=${since.toISOString().slice(0, 10)}`);
    board.usageReadAt = performance.now();
    drawUsage(usage, since);
    fill("usage", usage.totals, (total) => cells([
      accountName(total.accountId),
      total.size,
      { text: duration(total.seconds), className: "number" },
      { text: total.hours.toFixed(2), className: "number" },
      { text: money(total.cost, usage.currency), className: "number" },
    ]));
    $("usage-total-time").textContent = duration(usage.total.seconds);
    $("usage-total-hours").textContent = usage.total.hours.toFixed(2);
    $("usage-total-cost").textContent = money(usage.total.cost, usage.currency);
    $("tile-usage").textContent = duration(usage.total.seconds);
    $("tile-usage-detail").textContent = money(usage.total.cost, usage.currency);
  });
}

/** Bars per UTC day and size, in seconds, minutes or hours: the unit the longest day needs. */
function drawUsage(usage, since) {
  const days = [];
  for (let day = 0; day < USAGE_DAYS; day += 1) days.push(since.getTime() / 1000 + day * 86400);
  const seconds = Object.fromEntries(SIZES.map((size) => [size, days.map(() => 0)]));
  for (const row of usage.rows) {
    const index = days.indexOf(Date.parse(`${row.period}T00:00:00Z`) / 1000);
    if (index >= 0 && seconds[row.size]) seconds[row.size][index] += row.seconds;
  }
  const most = Math.max(0, ...SIZES.flatMap((size) => seconds[size]));
  const [unit, per] = most >= 3600 ? ["hours", 3600] : most >= 60 ? ["minutes", 60] : ["seconds", 1];
  // A day without time draws no bar at all (null), not a flat one.
  const data = [days, ...SIZES.map((size) => seconds[size].map((s) => (s > 0 ? s / per : null)))];
  const target = $("usage-chart");
  if (board.chart) board.chart.destroy();
  const bars = (align, colour) => ({
    paths: uPlot.paths.bars({ size: [0.4, 40], align }),
    stroke: colour,
    fill: `${colour}cc`,
    points: { show: false },
  });
  const dayLabel = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
  board.chart = new uPlot({
    width: Math.max(320, target.clientWidth),
    height: 240,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    scales: { x: { time: true, range: [days[0] - 43200, days[days.length - 1] + 43200] }, y: { range: (_u, _min, max) => [0, Math.max(max * 1.1, 1)] } },
    series: [
      { label: "Day", value: (_u, v) => (v == null ? "–" : dayLabel.format(new Date(v * 1000))) },
      { label: `Standard (${unit})`, ...bars(-1, "#4f9dde"), value: (_u, v) => (v == null ? "–" : duration(v * per)) },
      { label: `Premium (${unit})`, ...bars(1, "#e3a64f"), value: (_u, v) => (v == null ? "–" : duration(v * per)) },
    ],
    axes: [
      { stroke: "#9da7b3", grid: { stroke: "#2a3038" }, values: (_u, ticks) => ticks.map((t) => dayLabel.format(new Date(t * 1000))) },
      { stroke: "#9da7b3", grid: { stroke: "#2a3038" }, label: unit, size: 60 },
    ],
  }, data, target);
}

// ---- Tables ---------------------------------------------------------------------------------

/** A row of cells from texts, {text, title, className} or elements; text only, never HTML. */
function cells(values) {
  const row = document.createElement("tr");
  for (const value of values) {
    const cell = document.createElement("td");
    if (value instanceof Node) cell.append(value);
    else if (value !== null && typeof value === "object") {
      cell.textContent = value.text;
      if (value.title) cell.title = value.title;
      if (value.className) cell.className = value.className;
    } else cell.textContent = value;
    row.append(cell);
  }
  return row;
}

function fill(id, items, toRow) {
  // The section's own table (a chart's legend is a table too).
  document.querySelector(`#${id} > table > tbody`).replaceChildren(...items.map(toRow));
  const empty = document.querySelector(`#${id} .empty`);
  if (empty) empty.hidden = items.length > 0;
}

// ---- Start ----------------------------------------------------------------------------------

$("signin").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("token").value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  openBoard();
});
$("forget").addEventListener("click", () => askForToken("The token is forgotten; enter one to open the dashboard again."));
window.addEventListener("resize", () => {
  const target = $("usage-chart");
  if (board.chart) board.chart.setSize({ width: Math.max(320, target.clientWidth), height: 240 });
});

if (takeToken(TOKEN_KEY)) openBoard();
else askForToken(null);
