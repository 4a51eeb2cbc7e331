"""Streaming as a person sees it: the viewer page in headless Chromium against a real
`renderhub serve`, one session per model size. Prints one JSON object.

Per model: frames per second decoded in the browser at 1280x720, time from the viewer's offer
to its first decoded frame, and input-to-video latency (median, p95) measured in the browser
with the frame marker (the host draws the newest applied input's number into each frame).

Where that latency goes, stage by stage (medians, ms): the host's render / frame / encode /
send times (/inspector.json), the browser's jitter buffer and decode (getStats' inbound-rtp),
and, per marked frame, input sent -> its last packet received -> presented -> seen in a
requestVideoFrameCallback. And the frame accounting over the fps window: frames the host sent
against those the browser received, decoded, dropped and presented, with the losses,
retransmission requests and freezes that explain the difference.

    .venv/bin/python bench/viewer.py [--triangles 100000,1000000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.browser import chromium  # noqa: E402
from tests.e2e.server import ServerProcess, SignedIn, free_port, sign_in  # noqa: E402

from figures import summary  # noqa: E402
from renderhub import __version__  # noqa: E402
from renderhub.samples.procedural import make_triangle_mesh  # noqa: E402

API = "api-version=2021-01-01"
TARGETS = {
    "fps_100k_min": 30,
    "offer_to_first_frame_ms_max": 500,
    "input_to_video_median_ms_max": 80,
}


def main() -> None:
    options = _arguments()
    with tempfile.TemporaryDirectory(prefix="renderhub-bench-") as scratch:
        data_dir = Path(scratch) / "data"
        models = _make_models(data_dir / "models" / "bench", options.triangles)
        server = ServerProcess(data_dir, free_port())
        os.environ.setdefault("RENDERHUB_START_TIMEOUT_SECONDS", "120")
        os.environ.setdefault("RENDERHUB_CAPACITY_PREMIUM", str(len(models) + 1))
        server.start()
        try:
            signed_in = sign_in(server)
            results = [_measure(signed_in, name, options) for name in models]
        finally:
            server.terminate()
    print(json.dumps({"benchmark": "renderhub-viewer", "machine": _machine(), "targets": TARGETS,
                      "models": results}, indent=2))  # fmt: skip


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triangles", default="100000,1000000", help="comma-separated sizes")
    parser.add_argument("--seconds", type=float, default=10.0, help="fps measuring time")
    parser.add_argument("--inputs", type=int, default=40, help="camera inputs for latency")
    options = parser.parse_args()
    options.triangles = [int(n) for n in options.triangles.split(",")]
    return options


def _make_models(directory: Path, sizes: list[int]) -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    names = []
    for triangles in sizes:
        name = f"bench/mesh-{triangles}.glb"
        make_triangle_mesh(triangles).export(directory.parent / name)
        names.append(name)
    return names


def _measure(signed_in: SignedIn, model: str, options: Any) -> dict:
    client = signed_in.client
    session_id = re.sub(r"[^A-Za-z0-9_-]", "-", model)
    url = f"/accounts/{signed_in.account_id}/sessions/{session_id}?{API}"
    created = client.put(
        url, json={"maxLeaseTimeMinutes": 30, "size": "Premium", "models": [model]}
    )
    if created.status_code != 201:
        raise RuntimeError(f"creating the session failed: {created.text}")
    ready = _until_ready(client, url)
    base = f"http://{ready['hostname']}:{ready['handshakePort']}"
    token = signed_in.token
    try:
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(f"{base}/viewer#token={token}&measure=1&width=1280&height=720")
            page.wait_for_function("window.renderhubViewer.stats.framesDecoded > 0", timeout=30_000)
            first = page.evaluate("() => window.renderhubViewer.stats.offerToFirstFrameMs")
            before = _counters(page, base, token)
            fps = _fps(page, options.seconds)
            after_fps = _counters(page, base, token)
            latencies = _latencies(page, options.inputs)
            after = _counters(page, base, token)
            frames = page.evaluate("() => window.renderhubViewer.stats.latencyFrames")
    finally:
        client.post(f"/accounts/{signed_in.account_id}/sessions/{session_id}/:stop?{API}")
    inspector = after["inspector"]
    return {
        "model": model, "polygons": (inspector.get("scene") or {}).get("polygons"),
        "renderer": inspector.get("renderer"), "codec": (inspector.get("video") or {}).get("codec"),
        "fps_decoded_in_browser": round(fps, 1),
        "fps_sent_by_host": (inspector.get("video") or {}).get("fps"),
        "offer_to_first_frame_ms": round(first, 1),
        "input_to_video_ms": summary(latencies, digits=1),
        "input_to_video_stages_ms": _stages(latencies, frames, after_fps, after),
        "frame_accounting": _accounting(before, after_fps),
        "inspector": inspector,
    }  # fmt: skip


def _until_ready(client: httpx.Client, url: str) -> dict:
    give_up = time.monotonic() + 120
    while time.monotonic() < give_up:
        session = client.get(url).json()
        if session["status"] == "Ready":
            return dict(session)
        if session["status"] == "Error":
            raise RuntimeError(session["error"]["message"])
        time.sleep(0.1)
    raise RuntimeError("the session never became Ready")


def _fps(page: Page, seconds: float) -> float:
    frames = "() => window.renderhubViewer.stats.framesDecoded"
    start_frames, start = page.evaluate(frames), time.monotonic()
    # Keep the camera moving so every frame differs (a static scene still renders each frame).
    end = start + seconds
    while time.monotonic() < end:
        page.evaluate("() => window.renderhubViewer.sendInput({type: 'orbit', dx: 0.01, dy: 0})")
        time.sleep(0.1)
    return (page.evaluate(frames) - start_frames) / (time.monotonic() - start)


def _latencies(page: Page, count: int) -> list[float]:
    page.evaluate(
        "() => { const s = window.renderhubViewer.stats; s.latenciesMs = []; s.latencyFrames = [] }"
    )
    for _ in range(count):
        page.evaluate("() => window.renderhubViewer.sendInput({type: 'orbit', dx: 0.02, dy: 0})")
        time.sleep(0.25)  # one input at a time: each latency is measured on its own
    values: list[float] = page.evaluate("() => window.renderhubViewer.stats.latenciesMs")
    return values


_INBOUND_VIDEO = """async () => {
  const report = await window.renderhubViewer.session.peer.getStats();
  for (const stats of report.values()) {
    if (stats.type === "inbound-rtp" && stats.kind === "video") return stats;
  }
  return {};
}"""
INBOUND_COUNTERS = (
    "framesReceived", "framesDecoded", "framesDropped", "keyFramesDecoded", "packetsReceived",
    "packetsLost", "nackCount", "pliCount", "firCount", "freezeCount", "totalFreezesDuration",
    "pauseCount", "jitterBufferDelay", "jitterBufferEmittedCount", "totalDecodeTime",
    "totalAssemblyTime", "totalProcessingDelay",
)  # fmt: skip


def _counters(page: Page, base: str, token: str) -> dict[str, Any]:
    """The host's figures, the browser's inbound video counters and its presented frames,
    read together."""
    inspector = httpx.get(
        f"{base}/inspector.json", headers={"Authorization": f"Bearer {token}"}
    ).json()
    inbound = page.evaluate(_INBOUND_VIDEO)
    return {
        "inspector": inspector,
        "inbound": {name: inbound.get(name) for name in INBOUND_COUNTERS},
        "presented": page.evaluate("() => window.renderhubViewer.stats.framesDecoded"),
    }


def _delta(after: dict[str, Any], before: dict[str, Any], name: str) -> float | None:
    low, high = before["inbound"].get(name), after["inbound"].get(name)
    return None if low is None or high is None else high - low


def _per(total: float | None, count: float | None, scale: float = 1000.0) -> float | None:
    """total / count (seconds per item as ms by default), None when either is unknown."""
    return None if total is None or not count else round(total / count * scale, 2)


def _stages(
    latencies: list[float], frames: list[dict], before: dict[str, Any], after: dict[str, Any]
) -> dict[str, Any]:
    """Where input -> video time goes: the host's steps, the browser's, and per marked frame
    the time from the input to its frame's arrival, presentation and sighting."""
    video = after["inspector"].get("video") or {}
    timings = video.get("timingsMs") or {}

    def host(step: str) -> float | None:
        return (timings.get(step) or {}).get("median")

    def median_of(start: str, end: str) -> float | None:
        values = [f[end] - f[start] for f in frames if f.get(start) is not None and f.get(end)]
        return round(statistics.median(values), 2) if values else None

    round_trip = video.get("rtcpRoundTripMs")
    received = median_of("sentMs", "receiveTime")
    host_work = [host("frame"), host("encode"), host("send")]
    one_way = None if round_trip is None else round_trip / 2
    waiting = None
    if received is not None and None not in host_work and one_way is not None:
        waiting = round(received - sum(host_work) - one_way, 2)  # type: ignore[arg-type]
    return {
        "total_median": round(statistics.median(latencies), 2) if latencies else None,
        "input_to_frame_received": received,
        "host": {
            "input_to_render_start": waiting,
            "render": host("render"), "frame": host("frame"),
            "encode": host("encode"), "send": host("send"),
            "network_one_way": None if one_way is None else round(one_way, 2),
        },
        "browser": {
            "jitter_buffer": _per(_delta(after, before, "jitterBufferDelay"),
                                  _delta(after, before, "jitterBufferEmittedCount")),
            "decode": _per(_delta(after, before, "totalDecodeTime"),
                           _delta(after, before, "framesDecoded")),
            "frame_received_to_presented": median_of("receiveTime", "presentationTime"),
            "presented_to_expected_display": median_of("presentationTime", "expectedDisplayTime"),
            "presented_to_seen": median_of("presentationTime", "seenMs"),
        },
        "marked_frames": len(frames),
        "notes": (
            "input_to_render_start is what is left of input_to_frame_received after the "
            "host's frame (render + readback), encode and send medians and half the RTCP "
            "round trip: the data channel, the wait for the next frame slot, the pacer; the "
            "host does not report it itself. frame_received_to_presented holds the jitter "
            "buffer and the decode."
        ),
    }  # fmt: skip


def _accounting(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Frames over the fps window: sent by the host, then received, decoded, dropped and
    presented by the browser, with what explains the difference."""
    sent_before = (before["inspector"].get("video") or {}).get("framesSent") or 0
    sent_after = (after["inspector"].get("video") or {}).get("framesSent") or 0
    counts = {name: _delta(after, before, name) for name in INBOUND_COUNTERS}
    sent = sent_after - sent_before
    received, decoded = counts["framesReceived"] or 0, counts["framesDecoded"] or 0
    presented = after["presented"] - before["presented"]
    reasons = []
    if sent > received:
        reasons.append(
            f"{sent - received} frames never completed in the browser: packets lost "
            f"{counts['packetsLost']}, NACKs {counts['nackCount']}, PLIs {counts['pliCount']}"
        )
    if received > decoded:
        reasons.append(f"{received - decoded} received frames not decoded "
                       f"(dropped {counts['framesDropped']})")  # fmt: skip
    if decoded > presented:
        reasons.append(
            f"{decoded - presented} decoded frames never presented: a newer frame replaced "
            "them before the compositor's next refresh"
        )
    if counts["freezeCount"]:
        reasons.append(f"{counts['freezeCount']} freezes, {counts['totalFreezesDuration']} s")
    return {
        "host_sent": sent, "browser_received": received, "browser_decoded": decoded,
        "browser_presented": presented, "counters": counts,
        "why_fewer": reasons or ["none: every frame sent was received, decoded and presented"],
    }  # fmt: skip


def _machine() -> dict[str, Any]:
    chromium_version = subprocess.run(
        ["/usr/bin/chromium", "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {"cpu_count": os.cpu_count(), "python": platform.python_version(),
            "renderhub": __version__, "chromium": chromium_version}  # fmt: skip


if __name__ == "__main__":
    main()
