// RenderHub viewer: connects to this render host with the browser module (/sdk/renderhub.js),
// shows the video full-window, steers the camera with mouse, touch and keyboard, picks and
// selects what a click hits, and shows connection state, fps and latency; the scene panel
// (viewer-panel.js) shows the entity tree, loads models and moves a cut plane.
//
// URL: /viewer#token=<access token>[&measure=1][&width=W&height=H][&ice=<JSON list of iceServers>]
// The token stays in the fragment, which browsers never send to a server.
import { connect } from "./sdk/renderhub.js";
import { ScenePanel } from "./viewer-panel.js";

const params = new URLSearchParams(location.hash.slice(1));
const video = document.getElementById("video");
const show = (id, text) => { document.getElementById(id).textContent = text; };
const MARKER_BITS = 16;
const MARKER_BLOCK = 8;
const CLICK_SLOP_PX = 4; // a press that moves less than this is a click, not a drag

// What the page knows, readable by tests and by a person in the console.
const stats = {
  state: "connecting", framesDecoded: 0, fps: 0, rttMs: null, latenciesMs: [],
  lastMarker: null, hello: null, bye: null, errors: [], firstFrameMs: null,
  offerSentMs: null, offerToFirstFrameMs: null,
  // Per latency: when the input was sent and when its frame was seen (performance.now()),
  // with the frame's requestVideoFrameCallback metadata (receiveTime, processingDuration,
  // presentationTime, expectedDisplayTime): where the time went, for bench/viewer.py.
  latencyFrames: [],
};
const started = performance.now();
const measuring = params.get("measure") === "1";
const pendingInputs = new Map(); // seq (mod 65536, as the marker shows it) -> time sent
let session = null;
const panel = new ScenePanel(document.getElementById("panel"), (text) => stats.errors.push(text), showPolygons);

function setState(state) {
  stats.state = state;
  const element = document.getElementById("state");
  element.textContent = state;
  element.className = `state-${state}`;
}

function notice(text) {
  const element = document.getElementById("notice");
  element.textContent = text;
  element.style.display = text ? "block" : "none";
}

/** Send a message as is, without a seq (false when not connected). */
function send(message) {
  return session !== null && session.send(message);
}

// Camera input carries a sequence number; with measuring on, the host draws the newest
// applied one into the frame, and the first frame showing it gives the latency.
function sendInput(command) {
  if (session === null) return;
  const seq = session.input(command);
  if (seq !== null && measuring) pendingInputs.set(seq % 65536, performance.now());
}

// ---- connection -------------------------------------------------------------------------
async function start() {
  const token = params.get("token");
  if (!token) {
    setState("failed");
    notice("No access token: open this page as …/viewer#token=<access token>.");
    return;
  }
  const iceServers = params.get("ice") ? JSON.parse(params.get("ice")) : [];
  const base = new URL(".", location.href).href;
  session = await connect({ token, video, iceServers, base });
  stats.offerSentMs = session.timings.offerSent - started;
  firstFrameSeen();
  onHello(session.hello);
  const peer = session.peer;
  setState(peer.connectionState === "connected" ? "connected" : peer.connectionState);
  peer.addEventListener("connectionstatechange", () => {
    if (stats.bye && ["closed", "failed", "disconnected"].includes(peer.connectionState)) return;
    setState(peer.connectionState);
  });
  session.on("bye", onBye);
  session.on("pong", ({ rttMs }) => { stats.rttMs = rttMs; show("rtt", `${rttMs.toFixed(1)} ms`); });
  session.on("error", (error) => { stats.errors.push(error.message); console.warn("host:", error.message); });
  window.addEventListener("pagehide", () => session.close());

  const width = Number(params.get("width"));
  const height = Number(params.get("height"));
  if (width && height) session.resolution(width, height, { seq: false });
  if (measuring) session.marker(true, { seq: false });
  setInterval(() => session.ping(), 1000);
  await panel.attach(session);
}

function onHello(hello) {
  stats.hello = hello;
  showInfo(hello.polygons, hello.message);
}

function showInfo(polygons, message) {
  show("info", `\n${stats.hello.renderer || ""} · ${Number(polygons || 0).toLocaleString()} polygons` +
       (message ? `\n${message}` : ""));
}

// After a load the scene's polygons (and the warning over the limit) come from the host.
async function showPolygons() {
  try {
    showInfo((await session.stats()).polygons_loaded, stats.hello.message);
  } catch (error) {
    panel.problem(error);
  }
}

function onBye(reason) {
  stats.bye = reason;
  setState("closed");
  notice(`The session has ended: ${reason}`);
}

// ---- frames: fps, first frame, marker ----------------------------------------------------
const markerCanvas = document.createElement("canvas");
markerCanvas.width = MARKER_BITS * MARKER_BLOCK;
markerCanvas.height = MARKER_BLOCK;
const markerContext = markerCanvas.getContext("2d", { willReadFrequently: true });
let framesThisSecond = 0;

function readMarker() {
  const top = video.videoHeight - MARKER_BLOCK;
  markerContext.drawImage(video, 0, top, markerCanvas.width, MARKER_BLOCK, 0, 0, markerCanvas.width, MARKER_BLOCK);
  const pixels = markerContext.getImageData(0, 0, markerCanvas.width, MARKER_BLOCK).data;
  let value = 0;
  for (let bit = 0; bit < MARKER_BITS; bit += 1) {
    const offset = ((MARKER_BLOCK / 2) * markerCanvas.width + bit * MARKER_BLOCK + MARKER_BLOCK / 2) * 4;
    const luma = (pixels[offset] + pixels[offset + 1] + pixels[offset + 2]) / 3;
    value = (value << 1) | (luma > 127 ? 1 : 0);
  }
  return value;
}

// The first frame may come before or after connect() resolves: whichever is second computes.
function firstFrameSeen() {
  if (stats.firstFrameMs !== null && stats.offerSentMs !== null) {
    stats.offerToFirstFrameMs = stats.firstFrameMs - stats.offerSentMs;
  }
}

function frameTimes(metadata) {
  const { receiveTime = null, processingDuration = null, presentationTime = null, expectedDisplayTime = null } = metadata;
  return { receiveTime, processingDuration, presentationTime, expectedDisplayTime };
}

function onFrame(now, metadata) {
  stats.framesDecoded += 1;
  framesThisSecond += 1;
  if (stats.firstFrameMs === null) {
    stats.firstFrameMs = now - started;
    firstFrameSeen();
  }
  if (measuring && video.videoWidth) {
    const marker = readMarker();
    stats.lastMarker = marker;
    if (pendingInputs.has(marker)) {
      const sentMs = pendingInputs.get(marker);
      const latency = now - sentMs;
      stats.latenciesMs.push(latency);
      stats.latencyFrames.push({ sentMs, seenMs: now, ...frameTimes(metadata) });
      show("latency", `${latency.toFixed(0)} ms`);
      for (const seq of [...pendingInputs.keys()]) if (seq <= marker) pendingInputs.delete(seq);
    }
  }
  video.requestVideoFrameCallback(onFrame);
}
video.requestVideoFrameCallback(onFrame);
setInterval(() => { stats.fps = framesThisSecond; framesThisSecond = 0; show("fps", String(stats.fps)); }, 1000);

// ---- picking ------------------------------------------------------------------------------
/** Where a point of the window falls in the picture (x, y from 0 to 1 from its top-left
 * corner), inside the video's displayed content box (object-fit: contain letterboxes it);
 * null outside the picture. */
function pictureFraction(clientX, clientY) {
  const box = video.getBoundingClientRect();
  if (!video.videoWidth || !video.videoHeight) return null;
  const scale = Math.min(box.width / video.videoWidth, box.height / video.videoHeight);
  const width = video.videoWidth * scale;
  const height = video.videoHeight * scale;
  const x = (clientX - box.left - (box.width - width) / 2) / width;
  const y = (clientY - box.top - (box.height - height) / 2) / height;
  return x >= 0 && x <= 1 && y >= 0 && y <= 1 ? [x, y] : null;
}

async function pickAt(clientX, clientY) {
  if (session === null) return;
  const point = pictureFraction(clientX, clientY);
  try {
    const hits = point === null ? [] : await session.pick(point[0], point[1]);
    await panel.select(hits.length ? hits[0].entity : null);
  } catch (error) {
    panel.problem(error);
  }
}

// ---- input --------------------------------------------------------------------------------
// Pointer moves are summed and sent once per animation frame, so input never floods.
let pending = { orbit: [0, 0], pan: [0, 0], zoom: 1 };
function flushInput() {
  if (pending.orbit[0] || pending.orbit[1]) sendInput({ type: "orbit", dx: pending.orbit[0], dy: pending.orbit[1] });
  if (pending.pan[0] || pending.pan[1]) sendInput({ type: "pan", dx: pending.pan[0], dy: pending.pan[1] });
  if (pending.zoom !== 1) sendInput({ type: "zoom", factor: pending.zoom });
  pending = { orbit: [0, 0], pan: [0, 0], zoom: 1 };
  requestAnimationFrame(flushInput);
}
requestAnimationFrame(flushInput);

const size = () => [video.clientWidth || 1, video.clientHeight || 1];
let drag = null;
video.addEventListener("contextmenu", (event) => event.preventDefault());
video.addEventListener("pointerdown", (event) => {
  video.focus();
  video.setPointerCapture(event.pointerId);
  drag = {
    x: event.clientX, y: event.clientY, startX: event.clientX, startY: event.clientY,
    pan: event.button === 2 || event.shiftKey, click: event.button === 0 && !event.shiftKey,
  };
});
video.addEventListener("pointermove", (event) => {
  if (!drag || event.pointerType === "touch") return;
  if (Math.hypot(event.clientX - drag.startX, event.clientY - drag.startY) >= CLICK_SLOP_PX) drag.click = false;
  const [width, height] = size();
  const target = drag.pan ? pending.pan : pending.orbit;
  target[0] += (event.clientX - drag.x) / width;
  target[1] += (event.clientY - drag.y) / height;
  drag.x = event.clientX;
  drag.y = event.clientY;
});
video.addEventListener("pointerup", (event) => {
  if (drag && drag.click && Math.hypot(event.clientX - drag.startX, event.clientY - drag.startY) < CLICK_SLOP_PX) {
    pickAt(event.clientX, event.clientY);
  }
  drag = null;
});
video.addEventListener("wheel", (event) => {
  event.preventDefault();
  pending.zoom *= Math.exp(event.deltaY * 0.001);
}, { passive: false });

// Touch: one finger orbits, two fingers pinch to zoom and move together to pan.
let touches = null;
const centre = (list) => [(list[0].clientX + list[1].clientX) / 2, (list[0].clientY + list[1].clientY) / 2];
const spread = (list) => Math.hypot(list[0].clientX - list[1].clientX, list[0].clientY - list[1].clientY);
video.addEventListener("touchstart", (event) => { event.preventDefault(); touches = [...event.touches]; }, { passive: false });
video.addEventListener("touchmove", (event) => {
  event.preventDefault();
  const now = [...event.touches];
  const [width, height] = size();
  if (touches && now.length === 1 && touches.length === 1) {
    pending.orbit[0] += (now[0].clientX - touches[0].clientX) / width;
    pending.orbit[1] += (now[0].clientY - touches[0].clientY) / height;
  } else if (touches && now.length === 2 && touches.length === 2) {
    const [x0, y0] = centre(touches);
    const [x1, y1] = centre(now);
    pending.pan[0] += (x1 - x0) / width;
    pending.pan[1] += (y1 - y0) / height;
    pending.zoom *= spread(touches) / Math.max(spread(now), 1);
  }
  touches = now;
}, { passive: false });
video.addEventListener("touchend", (event) => { touches = [...event.touches]; });

const KEYS = {
  ArrowLeft: { type: "orbit", dx: -0.05, dy: 0 }, ArrowRight: { type: "orbit", dx: 0.05, dy: 0 },
  ArrowUp: { type: "orbit", dx: 0, dy: -0.05 }, ArrowDown: { type: "orbit", dx: 0, dy: 0.05 },
  "+": { type: "zoom", factor: 0.9 }, "=": { type: "zoom", factor: 0.9 }, "-": { type: "zoom", factor: 1.1 },
  a: { type: "pan", dx: -0.05, dy: 0 }, d: { type: "pan", dx: 0.05, dy: 0 },
  w: { type: "pan", dx: 0, dy: -0.05 }, s: { type: "pan", dx: 0, dy: 0.05 },
  r: { type: "reset" },
};
window.addEventListener("keydown", (event) => {
  if (event.target.closest && event.target.closest("input, select, textarea, button")) return; // typing in the panel
  const command = KEYS[event.key] || KEYS[event.key.toLowerCase()];
  if (!command) return;
  event.preventDefault();
  sendInput(command);
});

window.renderhubViewer = {
  stats, send, sendInput, panel,
  get session() { return session; },
  get entities() { return panel.entityList(); },
  get selected() { return panel.selected; },
};
start().catch((problem) => {
  setState("failed");
  notice(`Could not connect: ${problem.message}`);
});
