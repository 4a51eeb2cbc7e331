"""Streaming a host's rendering to its one client: WebRTC video out, camera commands in.

`Streamer` (streamer.py) owns the connected client's session and the renderer; routes.py
serves signalling and the inspector. Import the modules themselves: this package stays empty
so that the command line can read `--ice-server` (ice.py) without importing aiortc.
"""
