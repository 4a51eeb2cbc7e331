"""`python -m tests.host.stream.loopback_host host ...`: the real `renderhub` command, with
ICE limited to 127.0.0.1 so that a test's packets never leave loopback."""

from __future__ import annotations

import aioice.ice

from renderhub.cli.main import main

aioice.ice.get_host_addresses = lambda **_: ["127.0.0.1"]  # type: ignore[assignment,misc]

if __name__ == "__main__":
    main()
