"""The client library, scene runtime included, loads only itself and the vocabulary: none of
the server (control plane, host, store), and not aiortc until a scene is connected."""

from __future__ import annotations

import json
import subprocess
import sys

VOCABULARY = {
    "renderhub",
    "renderhub.errors",
    "renderhub.frame_marker",
    "renderhub.sizes",
    "renderhub.status",
    "renderhub.timespan",
}


def _loaded(code: str) -> set[str]:
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(result.stdout))


def test_the_client_loads_no_server_code_and_aiortc_only_to_connect() -> None:
    plain = _loaded("import renderhub.client")
    assert "aiortc" not in plain and "av" not in plain
    connecting = _loaded(
        "import renderhub.client, renderhub.frame_marker\n"
        "from renderhub.client import scene_connect, prompt_frames"
    )
    assert "aiortc" in connecting
    ours = {m for m in connecting if m == "renderhub" or m.startswith("renderhub.")}
    assert ours - VOCABULARY == {m for m in ours if m.startswith("renderhub.client")}
