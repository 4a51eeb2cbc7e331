"""Streaming as a person sees it: the viewer page in headless Chromium against a real
`renderhub serve`, one session per model size. Prints one JSON object.

Per model: frames per second decoded in the browser at 1280x720, time from the viewer's offer
to its first decoded frame, and input-to-video latency (median, p95) measured in the browser
with the frame marker (the host draws the newest applied input's number into each frame).

    .venv/bin/python bench/viewer.py [--triangles 100000,1000000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
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
            fps = _fps(page, options.seconds)
            latencies = _latencies(page, options.inputs)
            inspector = httpx.get(
                f"{base}/inspector.json", headers={"Authorization": f"Bearer {token}"}
            ).json()
    finally:
        client.post(f"/accounts/{signed_in.account_id}/sessions/{session_id}/:stop?{API}")
    return {
        "model": model, "polygons": (inspector.get("scene") or {}).get("polygons"),
        "renderer": inspector.get("renderer"), "codec": (inspector.get("video") or {}).get("codec"),
        "fps_decoded_in_browser": round(fps, 1),
        "fps_sent_by_host": (inspector.get("video") or {}).get("fps"),
        "offer_to_first_frame_ms": round(first, 1),
        "input_to_video_ms": summary(latencies, digits=1), "inspector": inspector,
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
    page.evaluate("() => { window.renderhubViewer.stats.latenciesMs.length = 0; }")
    for _ in range(count):
        page.evaluate("() => window.renderhubViewer.sendInput({type: 'orbit', dx: 0.02, dy: 0})")
        time.sleep(0.25)  # one input at a time: each latency is measured on its own
    values: list[float] = page.evaluate("() => window.renderhubViewer.stats.latenciesMs")
    return values


def _machine() -> dict[str, Any]:
    chromium_version = subprocess.run(
        ["/usr/bin/chromium", "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {"cpu_count": os.cpu_count(), "python": platform.python_version(),
            "renderhub": __version__, "chromium": chromium_version}  # fmt: skip


if __name__ == "__main__":
    main()
