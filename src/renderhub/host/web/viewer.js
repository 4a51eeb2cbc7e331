// RenderHub viewer: connects to this render host over WebRTC, shows the video full-window,
// steers the camera with mouse, touch and keyboard, and shows connection state, fps and latency.
//
// URL: /viewer#token=<access token>[&measure=1][&width=W&height=H][&ice=<JSON list of iceServers>]
// The token stays in the fragment, which browsers never send to a server.
"use strict";

(() => {
  const params = new URLSearchParams(location.hash.slice(1));
  const video = document.getElementById("video");
  const show = (id, text) => { document.getElementById(id).textContent = text; };
  const MARKER_BITS = 16;
  const MARKER_BLOCK = 8;

  // What the page knows, readable by tests and by a person in the console.
  const stats = {
    state: "connecting", framesDecoded: 0, fps: 0, rttMs: null, latenciesMs: [],
    lastMarker: null, hello: null, bye: null, errors: [], firstFrameMs: null,
    offerSentMs: null, offerToFirstFrameMs: null,
  };
  const started = performance.now();
  let channel = null;
  let inputSeq = 0;
  const pendingInputs = new Map(); // seq -> time sent
  const measuring = params.get("measure") === "1";

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

  function send(message) {
    if (!channel || channel.readyState !== "open") return false;
    channel.send(JSON.stringify(message));
    return true;
  }

  // Camera input carries a sequence number; with measuring on, the host draws the newest
  // applied one into the frame, and the first frame showing it gives the latency.
  function sendInput(command) {
    inputSeq = (inputSeq + 1) % 65536;
    if (send({ ...command, seq: inputSeq }) && measuring) pendingInputs.set(inputSeq, performance.now());
  }

  // ---- connection ---------------------------------------------------------------------
  async function connect() {
    const token = params.get("token");
    if (!token) {
      setState("failed");
      notice("No access token: open this page as …/viewer#token=<access token>.");
      return;
    }
    const iceServers = params.get("ice") ? JSON.parse(params.get("ice")) : [];
    const peer = new RTCPeerConnection({ iceServers });
    preferH264(peer.addTransceiver("video", { direction: "recvonly" }));
    channel = peer.createDataChannel("control");
    channel.onopen = onChannelOpen;
    channel.onmessage = (event) => onMessage(JSON.parse(event.data));
    peer.ontrack = (event) => { video.srcObject = event.streams[0] || new MediaStream([event.track]); };
    peer.onconnectionstatechange = () => {
      const state = peer.connectionState;
      if (stats.bye && (state === "closed" || state === "failed" || state === "disconnected")) return;
      setState(state === "connected" ? "connected" : state);
    };
    await peer.setLocalDescription(await peer.createOffer());
    await iceGatheringComplete(peer);
    stats.offerSentMs = performance.now() - started;
    const response = await fetch("webrtc/offer", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify({ sdp: peer.localDescription.sdp, type: peer.localDescription.type }),
    });
    const answer = await response.json();
    if (!response.ok) {
      setState("failed");
      notice(answer.error ? answer.error.message : `The host refused the connection (${response.status}).`);
      peer.close();
      return;
    }
    await peer.setRemoteDescription(answer);
    window.addEventListener("pagehide", () => peer.close());
  }

  // The host encodes H.264 fastest, and Chromium decodes it cheaply: ask for it first
  // (constrained baseline, packetization mode 1, which the host's encoder produces).
  function preferH264(transceiver) {
    if (!transceiver.setCodecPreferences || !window.RTCRtpReceiver) return;
    const codecs = RTCRtpReceiver.getCapabilities("video").codecs;
    const rank = (codec) => {
      if (codec.mimeType !== "video/H264") return 2;
      const line = codec.sdpFmtpLine || "";
      return line.includes("packetization-mode=1") && line.includes("profile-level-id=42e01f") ? 0 : 1;
    };
    transceiver.setCodecPreferences([...codecs].sort((a, b) => rank(a) - rank(b)));
  }

  function iceGatheringComplete(peer) {
    if (peer.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { if (peer.iceGatheringState === "complete") resolve(); };
      peer.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, 2000); // host candidates arrive at once; never wait on a slow one
    });
  }

  function onChannelOpen() {
    const width = Number(params.get("width"));
    const height = Number(params.get("height"));
    if (width && height) send({ type: "resolution", width, height });
    if (measuring) send({ type: "marker", enabled: true });
    setInterval(() => send({ type: "ping", t: performance.now() }), 1000);
  }

  function onMessage(message) {
    switch (message.type) {
      case "hello":
        stats.hello = message;
        show("info", `\n${message.renderer || ""} · ${Number(message.polygons || 0).toLocaleString()} polygons` +
             (message.message ? `\n${message.message}` : ""));
        break;
      case "pong":
        stats.rttMs = performance.now() - message.t;
        show("rtt", `${stats.rttMs.toFixed(1)} ms`);
        break;
      case "error":
        stats.errors.push(message.message);
        console.warn("host:", message.message);
        break;
      case "bye":
        stats.bye = message.reason;
        setState("closed");
        notice(`The session has ended: ${message.reason}`);
        break;
      default:
        break;
    }
  }

  // ---- frames: fps, first frame, marker ------------------------------------------------
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

  function onFrame(now) {
    stats.framesDecoded += 1;
    framesThisSecond += 1;
    if (stats.firstFrameMs === null) {
      stats.firstFrameMs = now - started;
      if (stats.offerSentMs !== null) stats.offerToFirstFrameMs = stats.firstFrameMs - stats.offerSentMs;
    }
    if (measuring && video.videoWidth) {
      const marker = readMarker();
      stats.lastMarker = marker;
      if (pendingInputs.has(marker)) {
        const latency = now - pendingInputs.get(marker);
        stats.latenciesMs.push(latency);
        show("latency", `${latency.toFixed(0)} ms`);
        for (const seq of [...pendingInputs.keys()]) if (seq <= marker) pendingInputs.delete(seq);
      }
    }
    video.requestVideoFrameCallback(onFrame);
  }
  video.requestVideoFrameCallback(onFrame);
  setInterval(() => { stats.fps = framesThisSecond; framesThisSecond = 0; show("fps", String(stats.fps)); }, 1000);

  // ---- input ---------------------------------------------------------------------------
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
    drag = { x: event.clientX, y: event.clientY, pan: event.button === 2 || event.shiftKey };
  });
  video.addEventListener("pointermove", (event) => {
    if (!drag || event.pointerType === "touch") return;
    const [width, height] = size();
    const target = drag.pan ? pending.pan : pending.orbit;
    target[0] += (event.clientX - drag.x) / width;
    target[1] += (event.clientY - drag.y) / height;
    drag.x = event.clientX;
    drag.y = event.clientY;
  });
  video.addEventListener("pointerup", () => { drag = null; });
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
    const command = KEYS[event.key] || KEYS[event.key.toLowerCase()];
    if (!command) return;
    event.preventDefault();
    sendInput(command);
  });

  window.renderhubViewer = { stats, send, sendInput };
  connect().catch((problem) => {
    setState("failed");
    notice(`Could not connect: ${problem.message}`);
  });
})();
