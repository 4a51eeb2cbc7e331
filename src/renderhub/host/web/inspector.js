// The host's inspector: the session's figures now (GET inspector.json) and charts of the last
// minutes (GET inspector/history.json, one sample a second kept by the host, so a page opened
// late still shows them), read every second with an access token of the session's account.
// Every value is shown readable: durations, MB, Mbit/s, percentages, local times.

import { takeToken } from "./static/page_token.js";

const TOKEN_KEY = "renderhub.inspectorToken";
const REFRESH_MS = 1000;
const KEPT_SAMPLES = 600; // what the host keeps: ten minutes
const COLOURS = {
  fps: "#56d364", render: "#4f9dde", encode: "#e3a64f", send: "#bc8cff",
  bitrate: "#39c5cf", rtt: "#ff7b72",
};

const $ = (id) => document.getElementById(id);
const page = {
  history: null, // {t: [...], fps: [...], ...} as the host's columns
  charts: [],
  timer: null,
};
// What tests (and the curious) can read: the updates shown, the samples charted, the last problem.
window.renderhubInspector = { updates: 0, samples: 0, history: null, error: null };

// ---- Readable values ------------------------------------------------------------------------

const pad = (n) => String(n).padStart(2, "0");
const none = (value) => value === null || value === undefined || Number.isNaN(value);
const count = new Intl.NumberFormat();

function duration(seconds) {
  if (none(seconds)) return "–";
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d ${pad(Math.floor((s % 86400) / 3600))}h`;
}

function ms(value) {
  if (none(value)) return "–";
  return value < 10 ? `${value.toFixed(2)} ms` : value < 100 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`;
}

function bitrate(bps) {
  if (none(bps)) return "–";
  return bps >= 1e6 ? `${(bps / 1e6).toFixed(2)} Mbit/s` : `${Math.round(bps / 1e3)} kbit/s`;
}

function megabytes(bytes) {
  if (none(bytes)) return "–";
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

function percent(part, whole) {
  if (none(part) || !whole) return "";
  const share = (100 * part) / whole;
  return share > 0 && share < 0.1 ? "<0.1%" : `${share.toFixed(1)}%`;
}

function seconds(value) {
  if (none(value)) return "–";
  return value < 60 ? `${value.toFixed(value < 10 ? 2 : 1)} s` : duration(value);
}

const fps = (value) => (none(value) ? "–" : `${value.toFixed(1)} fps`);
const yesNo = (value) => (value ? "yes" : "no");
const localTime = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });
const when = (iso) => (iso ? localTime.format(new Date(iso)) : "–");

/** A renderer's figure, by its name's unit: *_ms as ms, booleans as yes/no. */
function rendererValue(name, value) {
  if (typeof value === "boolean") return yesNo(value);
  if (typeof value === "number" && name.endsWith("_ms")) return ms(value);
  if (typeof value === "number") return count.format(value);
  return none(value) ? "–" : String(value);
}

/** A renderer's figure's name as words: "add_model_ms" -> "Add model" (its value says ms). */
const RENDERER_LABELS = { gpu: "GPU", samples: "MSAA samples" };

function rendererLabel(name) {
  if (RENDERER_LABELS[name]) return RENDERER_LABELS[name];
  const words = name.replace(/_ms$/, "").replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

// ---- The token ------------------------------------------------------------------------------

function askForToken(reason) {
  clearTimeout(page.timer);
  sessionStorage.removeItem(TOKEN_KEY);
  $("figures").hidden = true;
  $("signin").hidden = false;
  if (reason) {
    $("signin-reason").textContent = reason;
    $("signin-reason").classList.add("refused");
  }
  $("token").focus();
}

class TokenRefused extends Error {}

async function read(path) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  let response;
  try {
    response = await fetch(path, { headers: { Authorization: `Bearer ${token}` }, cache: "no-store" });
  } catch (problem) {
    throw new Error(`The host is not answering (${problem.message}); the session may have ended.`);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: said below by its status
  }
  const message = body && body.error ? body.error.message : `${response.status} ${response.statusText}`;
  if (response.status === 401 || response.status === 403) throw new TokenRefused(`The host refused this token: ${message}`);
  if (!response.ok) throw new Error(message);
  return body;
}

// ---- Refreshing -----------------------------------------------------------------------------

async function refresh() {
  try {
    const last = page.history && page.history.t.length ? page.history.t[page.history.t.length - 1] : null;
    const [figures, samples] = await Promise.all([
      read("inspector.json"),
      read(last === null ? "inspector/history.json" : `inspector/history.json?since=${last}`),
    ]);
    showFigures(figures);
    addSamples(samples.columns);
    $("error").hidden = true;
    window.renderhubInspector.error = null;
    window.renderhubInspector.updates += 1;
  } catch (problem) {
    if (problem instanceof TokenRefused) return askForToken(problem.message);
    $("error").textContent = `Cannot read the inspector's figures: ${problem.message}`;
    $("error").hidden = false;
    window.renderhubInspector.error = problem.message;
  }
  page.timer = setTimeout(refresh, REFRESH_MS);
}

function start() {
  $("signin").hidden = true;
  $("figures").hidden = false;
  refresh();
}

// ---- Figures now ----------------------------------------------------------------------------

function showFigures(data) {
  const { video, client, scene, session, memory } = data;
  $("session-id").textContent = data.sessionId || "no session yet";
  $("status").textContent = data.status;
  $("status").className = `status ${data.status}`;
  $("lease-left").textContent = session ? duration(session.leaseLeftSeconds) : "–";
  $("lease-ends").textContent = session ? `ends ${when(session.leaseEnds)}` : "";

  $("now-fps").textContent = fps(video.fps);
  $("now-fps-detail").textContent = `target ${video.fpsTarget} fps`;
  $("now-bitrate").textContent = bitrate(video.bitrate);
  $("now-bitrate-detail").textContent = video.codec ? video.codec.replace("video/", "") : "no video yet";
  $("now-rtt").textContent = ms(video.rtcpRoundTripMs);
  $("now-client").textContent = client.connected ? "connected" : client.state || "none";
  $("now-client-detail").textContent =
    session && !none(session.clientConnectedSeconds) ? `for ${duration(session.clientConnectedSeconds)}` : "";
  $("now-memory").textContent = megabytes(memory.totalRssBytes);
  $("now-memory-detail").textContent =
    `host ${megabytes(memory.hostRssBytes)} · renderer ${megabytes(memory.childrenRssBytes)}`;
  $("now-polygons").textContent = none(scene.polygons) ? "–" : count.format(scene.polygons);
  $("now-polygons-detail").textContent = scene.polygonLimit
    ? `${percent(scene.polygons, scene.polygonLimit)} of ${count.format(scene.polygonLimit)}`
    : "no limit";
  $("now-polygons-detail").classList.toggle("over", Boolean(scene.overLimit));

  showTimings(video.timingsMs);
  rows("video", [
    ["Codec", video.codec ? video.codec.replace("video/", "") : "–"],
    ["Picture", `${video.width} × ${video.height}`],
    ["Frames rendered", count.format(video.framesRendered)],
    ["Frames sent", count.format(video.framesSent)],
    ["Frame marker", video.marker ? "on" : "off"],
    ...Object.entries(video.bitrateCaps || {}).map(([codec, caps]) => [
      `${codec.toUpperCase()} bitrate`, `${bitrate(caps.min)} to ${bitrate(caps.max)} (starts at ${bitrate(caps.default)})`,
    ]),
  ]);
  rows("scene", [
    ["Polygons loaded", none(scene.polygons) ? "–" : count.format(scene.polygons)],
    ["Polygons rendered", none(scene.polygonsRendered) ? "–" : count.format(scene.polygonsRendered)],
    ["Polygon limit", scene.polygonLimit ? count.format(scene.polygonLimit) : "no limit"],
    ["Over the limit", yesNo(scene.overLimit)],
    ["Entities", none(scene.entities) ? "–" : count.format(scene.entities)],
    ["Models", none(scene.models) ? "–" : count.format(scene.models)],
    ["Cut planes", none(scene.cutPlanes) ? "–" : count.format(scene.cutPlanes)],
    ...(session ? [
      ["Session's models loaded", `${session.modelsLoaded} of ${session.modelsTotal}`],
      ["Loading took", seconds(session.loadSeconds)],
    ] : []),
  ]);
  const models = session ? session.models : [];
  $("models").querySelector("tbody").replaceChildren(...models.map((model) => {
    const row = document.createElement("tr");
    row.append(cell(model.url, "path"), cell(count.format(model.polygons), "number"), cell(megabytes(model.bytes), "number"));
    return row;
  }));
  rows("renderer", Object.entries(data.renderer || {}).map(([name, value]) => [rendererLabel(name), rendererValue(name, value)]));
}

function showTimings(timings) {
  const names = { render: "Render", frame: "Frame (render + read back)", encode: "Encode", send: "Send", inputToRender: "Input to render" };
  $("timings").querySelector("tbody").replaceChildren(...Object.entries(names).map(([key, name]) => {
    const figures = timings[key] || {};
    const row = document.createElement("tr");
    row.append(cell(name), cell(ms(figures.median), "number"), cell(ms(figures.p95), "number"), cell(count.format(figures.samples || 0), "number"));
    return row;
  }));
}

function cell(text, className) {
  const element = document.createElement("td");
  element.textContent = text;
  if (className) element.className = className;
  return element;
}

function rows(id, pairs) {
  $(id).querySelector("tbody").replaceChildren(...pairs.map(([name, value]) => {
    const row = document.createElement("tr");
    row.append(cell(name), cell(value));
    return row;
  }));
}

// ---- Charts ---------------------------------------------------------------------------------

function addSamples(columns) {
  if (!page.history) page.history = Object.fromEntries(Object.keys(columns).map((name) => [name, []]));
  for (const [name, values] of Object.entries(columns)) {
    const kept = page.history[name];
    kept.push(...values);
    kept.splice(0, Math.max(0, kept.length - KEPT_SAMPLES));
  }
  window.renderhubInspector.samples = page.history.t.length;
  window.renderhubInspector.history = page.history;
  if (!page.charts.length) makeCharts();
  const h = page.history;
  const mbits = h.bitrate.map((bps) => (none(bps) ? null : bps / 1e6));
  const data = [
    [h.t, h.fps],
    [h.t, h.renderMs, h.encodeMs, h.sendMs],
    [h.t, mbits],
    [h.t, h.roundTripMs],
  ];
  page.charts.forEach((chart, index) => chart.setData(data[index]));
}

function line(label, colour, format) {
  return { label, stroke: colour, width: 2, fill: `${colour}22`, points: { show: false }, value: (_u, v) => format(v) };
}

function makeCharts() {
  const specs = [
    ["chart-fps", [line("Frame rate", COLOURS.fps, fps)], "fps"],
    ["chart-times", [line("Render", COLOURS.render, ms), line("Encode", COLOURS.encode, ms), line("Send", COLOURS.send, ms)], "ms"],
    ["chart-bitrate", [line("Bitrate", COLOURS.bitrate, (v) => bitrate(none(v) ? v : v * 1e6))], "Mbit/s"],
    ["chart-rtt", [line("Round trip", COLOURS.rtt, ms)], "ms"],
  ];
  page.charts = specs.map(([id, series, unit]) => {
    const target = $(id);
    return new uPlot({
      width: chartWidth(target),
      height: 190,
      legend: { live: false },
      scales: { y: { range: (_u, _min, max) => [0, none(max) || max <= 0 ? 1 : max * 1.15] } },
      series: [{ value: (_u, v) => (none(v) ? "–" : localTime.format(new Date(v * 1000))) }, ...series],
      axes: [
        { stroke: "#9da7b3", grid: { stroke: "#262c34" }, ticks: { stroke: "#262c34" } },
        { stroke: "#9da7b3", grid: { stroke: "#262c34" }, ticks: { stroke: "#262c34" }, label: unit, size: 56 },
      ],
    }, [[], ...series.map(() => [])], target);
  });
}

const chartWidth = (target) => Math.max(300, target.clientWidth);

window.addEventListener("resize", () => {
  for (const chart of page.charts) chart.setSize({ width: chartWidth(chart.root.parentElement), height: 190 });
});

// ---- Start ----------------------------------------------------------------------------------

$("signin").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("token").value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  start();
});

if (takeToken(TOKEN_KEY)) start();
else askForToken(null);
