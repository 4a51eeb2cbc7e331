"""Finding the real render-host processes a test started."""

from __future__ import annotations

import psutil


def host_pids(session_id: str) -> list[int]:
    """Pids of live `renderhub host` processes serving `session_id`."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline", "status"]):
        command = process.info["cmdline"] or []
        if process.info["status"] == psutil.STATUS_ZOMBIE or "host" not in command:
            continue
        if "--session-id" in command and session_id in command:
            found.append(process.info["pid"])
    return found
