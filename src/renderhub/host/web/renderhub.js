// RenderHub's browser module: connect to a render host over WebRTC, show its video, steer the
// camera and work on the session's scene over the "control" data channel
// (docs/scene-protocol.md is the wire contract; docs/browser-sdk.md documents this API).
//
//   import { connect } from "https://HOST:PORT/sdk/renderhub.js";
//   const session = await connect({ token, video: document.querySelector("video") });
//   const { root } = await session.loadModel("samples/cube.glb");
//
// No build step and no dependencies: one ES module, served by every render host.

const REQUEST_TIMEOUT_MS = 30_000;
const LOAD_TIMEOUT_MS = 5 * 60_000;
const HELLO_TIMEOUT_MS = 30_000;
const ICE_GATHERING_MS = 2000;

/** A request the host refused, or one that got no answer: `code` is the protocol's error
 * code (or "Timeout", "Closed", "InvalidField" for arguments refused before sending,
 * "ConnectionFailed" while connecting), `target` the field at fault, `seq` the request's. */
export class RenderHubError extends Error {
  constructor({ code, message, target = null, seq = null }) {
    super(message);
    this.name = "RenderHubError";
    this.code = code;
    this.target = target;
    this.seq = seq;
  }
}

/** Connect to the render host at `base` (default: this page's origin) with an access token.
 * Resolves with a Session once the host has said hello; rejects with a RenderHubError. */
export async function connect({ token, video = null, iceServers = [], base = location.origin } = {}) {
  if (!token) throw new RenderHubError({ code: "InvalidField", message: "connect() needs an access token.", target: "token" });
  const session = new Session(new RTCPeerConnection({ iceServers }), video);
  try {
    await session._open(String(base).replace(/\/+$/, ""), token);
  } catch (problem) {
    session.close();
    throw problem;
  }
  return session;
}

/** One connection to a render host: its peer connection, its data channel, the scene's
 * requests and the camera's inputs. */
export class Session {
  constructor(peer, video) {
    this.peer = peer;
    this.video = video;
    this.hello = null;
    this.scene = { models: [] };
    this.bye = null;
    this.closed = false;
    this.timings = { offerSent: null, answered: null, hello: null }; // performance.now() stamps
    this._seq = 0;
    this._pending = new Map(); // seq -> {resolve, reject, timer, onProgress, unwrap}
    this._listeners = new Map(); // event name -> Set of functions
    this._channel = null;
  }

  // ---- events ------------------------------------------------------------------------------
  /** Listen to "hello", "bye", "progress", "pong", "error" (a refused input that nobody awaits)
   * or "close"; returns a function that stops listening. */
  on(event, listener) {
    if (!this._listeners.has(event)) this._listeners.set(event, new Set());
    this._listeners.get(event).add(listener);
    return () => this._listeners.get(event).delete(listener);
  }

  _emit(event, value) {
    for (const listener of this._listeners.get(event) || []) {
      try {
        listener(value);
      } catch (problem) {
        console.error(`renderhub: a "${event}" listener failed`, problem);
      }
    }
  }

  // ---- the scene ---------------------------------------------------------------------------
  /** Load a model (a path under the host's models folder, or an allowed URL). Resolves with
   * {root, entities, warning?}, `entities` every entity of the model (the host's reply holds
   * the first page; the rest are asked for page by page); `onProgress({stage, fraction})`
   * hears its progress. */
  async loadModel(url, { parent, onProgress, ...unknown } = {}) {
    refuseUnknown(unknown);
    const fields = { url };
    if (parent !== undefined) fields.parent = parent;
    const { next, ...result } = await this.request("load_model", fields, { timeoutMs: LOAD_TIMEOUT_MS, onProgress });
    this.scene.models.push(result.root);
    if (next !== undefined) result.entities = result.entities.concat(await this._pages({ root: result.root.id, after: next }));
    return result;
  }

  /** Remove the model rooted at `id`; resolves with the ids removed. */
  async unloadModel(id) {
    const { removed } = await this.request("unload_model", { id });
    this.scene.models = this.scene.models.filter((model) => !removed.includes(model.id));
    return removed;
  }

  /** Every entity (or the subtree under `root`), parents before children: the host answers
   * a page at a time, and this asks for each next page until the last. */
  async entities({ root, ...unknown } = {}) {
    refuseUnknown(unknown);
    return this._pages(root === undefined ? {} : { root });
  }

  // The listing from `fields` ({root?, after?}) on, following each page's `next`.
  async _pages(fields) {
    const entities = [];
    for (let page = fields; page; ) {
      const { entities: found, next } = await this.request("entities", page);
      entities.push(...found);
      page = next === undefined ? null : { ...fields, after: next };
    }
    return entities;
  }

  /** Set many local transforms at once ([{id, position?, rotation?, scale?}]); all or none.
   * Resolves with how many were set. */
  async setTransforms(transforms) {
    if (!Array.isArray(transforms)) throw invalid("transforms", "setTransforms() takes a list of {id, position?, rotation?, scale?}.");
    const wire = transforms.map((entry, index) => pick(entry, TRANSFORM_FIELDS, `transforms[${index}]`));
    return (await this.request("set_transforms", { transforms: wire })).count;
  }

  /** Set one entity's local transform; resolves with the count (1). */
  setTransform(id, transform = {}) {
    return this.setTransforms([{ ...transform, id }]);
  }

  /** Override states: each of hidden, seeThrough, selected is true, false or null (inherit);
   * tint is [r, g, b, a] or null. Resolves with the entity as it is now. */
  async setState(id, state = {}) {
    return (await this.request("set_state", { id, ...pick(state, STATE_FIELDS, "state") })).entity;
  }

  /** A new cut plane ({point, normal, fadeLength?, fadeColour?}); resolves with its id. */
  async addCutPlane(plane = {}) {
    return (await this.request("add_cut_plane", pick(plane, PLANE_FIELDS, "plane"))).id;
  }

  /** Change a cut plane; resolves with it ({id, point, normal, fade_length, fade_colour}). */
  async setCutPlane(id, plane = {}) {
    return (await this.request("set_cut_plane", { id, ...pick(plane, PLANE_FIELDS, "plane") })).plane;
  }

  async removeCutPlane(id) {
    await this.request("remove_cut_plane", { id });
  }

  async cutPlanes() {
    return (await this.request("cut_planes")).planes;
  }

  /** Cast a ray ({origin, direction, mode?, maxDistance?}); resolves with the hits. */
  async raycast(ray = {}) {
    return (await this.request("raycast", pick(ray, RAY_FIELDS, "ray"))).hits;
  }

  /** Cast a ray through the picture's point (x, y from 0 to 1 from the top-left corner);
   * resolves with the hits (at most one). */
  async pick(x, y) {
    return (await this.request("pick", { x, y })).hits;
  }

  /** Place the camera ({position?, target?, fov?}); resolves with {position, target, fov}. */
  async setCamera(camera = {}) {
    return (await this.request("set_camera", pick(camera, CAMERA_FIELDS, "camera"))).camera;
  }

  async camera() {
    return (await this.request("camera")).camera;
  }

  async stats() {
    return this.request("stats");
  }

  /** Send any request and resolve with its reply's result (reject with RenderHubError). */
  request(type, fields = {}, { timeoutMs = REQUEST_TIMEOUT_MS, onProgress } = {}) {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new RenderHubError({ code: "Closed", message: "The session is closed." }));
        return;
      }
      const seq = this._nextSeq();
      const timer = setTimeout(() => this._settle(seq, null, new RenderHubError({
        code: "Timeout", message: `The host did not answer ${type} within ${timeoutMs / 1000} s.`, seq,
      })), timeoutMs);
      this._pending.set(seq, { resolve, reject, timer, onProgress });
      if (!this.send({ ...fields, type, seq })) {
        this._settle(seq, null, new RenderHubError({ code: "Closed", message: "The data channel is not open.", seq }));
      }
    });
  }

  // ---- the camera and the stream: sent without waiting ---------------------------------------
  // Each returns the seq it sent (null with {seq: false}); a refusal comes as an "error" event.
  orbit(dx, dy, options) { return this.input({ type: "orbit", dx, dy }, options); }
  pan(dx, dy, options) { return this.input({ type: "pan", dx, dy }, options); }
  zoom(factor, options) { return this.input({ type: "zoom", factor }, options); }
  pose({ target, yaw, pitch, distance }, options) { return this.input({ type: "pose", target, yaw, pitch, distance }, options); }
  reset(options) { return this.input({ type: "reset" }, options); }
  resolution(width, height, options) { return this.input({ type: "resolution", width, height }, options); }
  fps(value, options) { return this.input({ type: "fps", value }, options); }
  marker(enabled, options) { return this.input({ type: "marker", enabled }, options); }

  /** Send one camera or stream input as is (e.g. {type: "orbit", dx, dy}), numbered unless
   * `seq` is false; returns the seq sent, or null when not sent or not numbered. */
  input(command, { seq = true } = {}) {
    if (this.closed) return null;
    const number = seq ? this._nextSeq() : null;
    const message = number === null ? { ...command } : { ...command, seq: number };
    return this.send(message) ? number : null;
  }

  /** Ask for a pong; the "pong" event then carries {t, rttMs}. */
  ping() {
    return this.send({ type: "ping", t: performance.now() });
  }

  /** Say goodbye: close the data channel and the peer connection. Safe to call twice. */
  close() {
    this._closed("closed by the client");
    this.peer.close();
  }

  // ---- the wire ----------------------------------------------------------------------------
  _nextSeq() {
    this._seq += 1;
    return this._seq;
  }

  /** Send one message as is (an object, sent as JSON); false when the channel is not open. */
  send(message) {
    const channel = this._channel;
    if (!channel || channel.readyState !== "open") return false;
    channel.send(JSON.stringify(message));
    return true;
  }

  _settle(seq, result, error) {
    const pending = this._pending.get(seq);
    if (!pending) return false;
    this._pending.delete(seq);
    clearTimeout(pending.timer);
    if (error) pending.reject(error);
    else pending.resolve(result);
    return true;
  }

  _onMessage(message) {
    switch (message.type) {
      case "reply":
        this._settle(message.seq, message.result || {}, null);
        break;
      case "error": {
        const error = new RenderHubError({
          code: message.code || "Error", message: message.message, target: message.target ?? null, seq: message.seq ?? null,
        });
        if (message.seq === undefined || !this._settle(message.seq, null, error)) this._emit("error", error);
        break;
      }
      case "progress": {
        const pending = this._pending.get(message.seq);
        const progress = { seq: message.seq, stage: message.stage, fraction: message.fraction };
        if (pending && pending.onProgress) {
          try {
            pending.onProgress(progress);
          } catch (problem) {
            console.error("renderhub: an onProgress function failed", problem);
          }
        }
        this._emit("progress", progress);
        break;
      }
      case "pong":
        this._emit("pong", { t: message.t, rttMs: performance.now() - message.t });
        break;
      case "hello":
        this.hello = message;
        this.scene.models = [...(message.models || [])];
        this.timings.hello = performance.now();
        this._emit("hello", message);
        break;
      case "bye":
        this.bye = message.reason;
        this._emit("bye", message.reason);
        break;
      default:
        break;
    }
  }

  // Fails every request still waiting, once, and tells the "close" listeners why.
  _closed(reason) {
    if (this.closed) return;
    this.closed = true;
    for (const seq of [...this._pending.keys()]) {
      this._settle(seq, null, new RenderHubError({ code: "Closed", message: `The connection ended (${reason}).`, seq }));
    }
    this._emit("close", reason);
  }

  async _open(base, token) {
    const peer = this.peer;
    preferH264(peer.addTransceiver("video", { direction: "recvonly" }));
    const channel = peer.createDataChannel("control");
    this._channel = channel;
    const greeted = new Promise((resolve, reject) => {
      this.on("hello", resolve);
      this.on("close", (reason) => reject(new RenderHubError({ code: "ConnectionFailed", message: `The connection ended before the host said hello (${reason}).` })));
      setTimeout(() => reject(new RenderHubError({ code: "Timeout", message: `The host did not say hello within ${HELLO_TIMEOUT_MS / 1000} s.` })), HELLO_TIMEOUT_MS);
    });
    greeted.catch(() => {}); // awaited below; never an unhandled rejection meanwhile
    channel.onmessage = (event) => this._onMessage(parseMessage(event.data));
    channel.onclose = () => this._closed(this.bye ? `bye: ${this.bye}` : "the data channel closed");
    peer.ontrack = (event) => {
      if (this.video) this.video.srcObject = event.streams[0] || new MediaStream([event.track]);
    };
    peer.addEventListener("connectionstatechange", () => {
      if (["failed", "closed"].includes(peer.connectionState)) this._closed(`the connection ${peer.connectionState}`);
    });
    await peer.setLocalDescription(await peer.createOffer());
    await iceGatheringComplete(peer);
    this.timings.offerSent = performance.now();
    const answer = await postOffer(base, token, peer.localDescription);
    this.timings.answered = performance.now();
    await peer.setRemoteDescription(answer);
    await greeted;
  }
}

// ---- helpers ---------------------------------------------------------------------------------
const TRANSFORM_FIELDS = { id: "id", position: "position", rotation: "rotation", scale: "scale" };
const STATE_FIELDS = { hidden: "hidden", seeThrough: "see_through", selected: "selected", tint: "tint" };
const PLANE_FIELDS = { point: "point", normal: "normal", fadeLength: "fade_length", fadeColour: "fade_colour" };
const RAY_FIELDS = { origin: "origin", direction: "direction", mode: "mode", maxDistance: "max_distance" };
const CAMERA_FIELDS = { position: "position", target: "target", fov: "fov" };

function invalid(target, message) {
  return new RenderHubError({ code: "InvalidField", message, target });
}

// `fields` renamed to the wire's names; a name this API does not know is refused before sending.
function pick(fields, names, where) {
  if (fields === null || typeof fields !== "object" || Array.isArray(fields)) {
    throw invalid(where, `${where} must be an object with any of ${Object.keys(names).join(", ")}.`);
  }
  const wire = {};
  for (const [name, value] of Object.entries(fields)) {
    if (!(name in names)) throw invalid(`${where}.${name}`, `Unknown field "${name}" in ${where}; expected any of ${Object.keys(names).join(", ")}.`);
    if (value !== undefined) wire[names[name]] = value;
  }
  return wire;
}

function refuseUnknown(options) {
  const [name] = Object.keys(options);
  if (name !== undefined) throw invalid(name, `Unknown option "${name}".`);
}

function parseMessage(data) {
  try {
    return JSON.parse(data);
  } catch {
    return { type: "invalid" };
  }
}

async function postOffer(base, token, description) {
  const response = await fetch(`${base}/webrtc/offer`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify({ sdp: description.sdp, type: description.type }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = body.error || {};
    throw new RenderHubError({
      code: error.code || "ConnectionFailed",
      message: error.message || `The host refused the connection (${response.status}).`,
    });
  }
  return body;
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
    peer.addEventListener("icegatheringstatechange", () => {
      if (peer.iceGatheringState === "complete") resolve();
    });
    setTimeout(resolve, ICE_GATHERING_MS); // host candidates come at once; never wait on a slow one
  });
}
