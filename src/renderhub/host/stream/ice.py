"""ICE: the STUN/TURN servers and local addresses a host is told to use, and tidying a
browser's offer.

This module is imported by the command line, so it does not import aiortc at module level.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote

if TYPE_CHECKING:
    from aiortc import RTCIceServer

_URL = re.compile(
    r"(?P<scheme>stuns?|turns?):(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.\-]+)(?::(?P<port>\d{1,5}))?"
    r"(?:\?transport=(?P<transport>udp|tcp))?"
)
_CREDENTIALS = re.compile(r"(?P<scheme>turns?):(?P<user>[^:@/]+):(?P<password>[^@]+)@(?P<rest>.+)")


class IceServerError(ValueError):
    """An --ice-server value could not be read; the message says why, in one sentence."""


@dataclass(frozen=True, slots=True)
class IceServer:
    """One STUN or TURN server, as RTCIceServer takes it."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None

    def to_rtc(self) -> RTCIceServer:
        from aiortc import RTCIceServer

        return RTCIceServer(
            urls=list(self.urls), username=self.username, credential=self.credential
        )

    def describe(self) -> str:
        """The server for a log line: its URLs, never its credential."""
        user = f" (user {self.username})" if self.username else ""
        return ", ".join(self.urls) + user


def parse_ice_server(text: str) -> IceServer:
    """Read one server: `stun:host[:port]`, `turn[s]:user:pass@host[:port][?transport=...]`,
    or JSON `{"urls": "..." | [...], "username": "...", "credential": "..."}`."""
    text = text.strip()
    server = _from_json(text) if text.startswith("{") else _from_url(text)
    for url in server.urls:
        _check_url(url)
    is_turn = any(url.startswith("turn") for url in server.urls)
    if is_turn and (not server.username or not server.credential):
        raise IceServerError("A TURN server needs a username and a credential.")
    return server


def _from_url(text: str) -> IceServer:
    found = _CREDENTIALS.fullmatch(text)
    if found is None:
        if "@" in text:
            raise IceServerError(
                f"{text!r} is not a server URL; credentials go as turn:USER:PASS@HOST[:PORT]."
            )
        return IceServer(urls=(text,))
    url = f"{found['scheme']}:{found['rest']}"
    return IceServer((url,), unquote(found["user"]), unquote(found["password"]))


def _from_json(text: str) -> IceServer:
    try:
        data = json.loads(text)
    except ValueError:
        raise IceServerError(f"{text!r} is not valid JSON.") from None
    urls = data.get("urls") if isinstance(data, dict) else None
    if isinstance(urls, str):
        urls = [urls]
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
        raise IceServerError('The JSON form needs "urls": a URL or a non-empty list of URLs.')
    unknown = set(data) - {"urls", "username", "credential"}
    if unknown:
        raise IceServerError(f"The JSON form does not take {', '.join(sorted(unknown))}.")
    username, credential = data.get("username"), data.get("credential")
    if not all(value is None or isinstance(value, str) for value in (username, credential)):
        raise IceServerError('"username" and "credential" must be strings.')
    return IceServer(tuple(urls), username, credential)


def _check_url(url: str) -> None:
    found = _URL.fullmatch(url)
    if found is None:
        raise IceServerError(
            f"{url!r} is not a STUN or TURN URL (stun:HOST[:PORT] or turn:HOST[:PORT])."
        )
    if found["port"] is not None and not 0 < int(found["port"]) < 65536:
        raise IceServerError(f"{url!r} has a port outside 1-65535.")
    if found["transport"] and found["scheme"].startswith("stun"):
        raise IceServerError(f"{url!r}: a STUN URL takes no transport.")


def gather_only_on(addresses: tuple[str, ...]) -> None:
    """Have aioice gather host candidates on these local addresses only (process-wide).

    By default aioice takes every address of every interface except loopback. Naming the
    addresses picks the interface clients reach on a multi-homed machine, and
    `127.0.0.1` keeps a browser on this machine (Chromium with
    --allow-loopback-in-peer-connection) on loopback."""
    import aioice.ice

    def configured(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in addresses if (use_ipv6 if ":" in a else use_ipv4)]

    aioice.ice.get_host_addresses = configured


def check_local_address(text: str) -> str:
    """`text` as a normalised IP address of this machine; IceServerError otherwise."""
    try:
        address = str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise IceServerError(f"{text!r} is not an IP address.") from None
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((address, 0))
    except OSError:
        raise IceServerError(f"{address} is not an address of this machine.") from None
    return address


def without_mdns_candidates(sdp: str) -> str:
    """The SDP without `a=candidate` lines whose address is an mDNS name (`*.local`).

    Browsers hide their host addresses behind such names; aioice spends about a second
    failing to resolve them, while the peer-reflexive candidates that ICE discovers anyway
    connect just as well.
    """
    lines = sdp.splitlines(keepends=True)
    return "".join(line for line in lines if not _is_mdns_candidate(line))


def _is_mdns_candidate(line: str) -> bool:
    if not line.startswith("a=candidate:"):
        return False
    fields = line.split()
    return len(fields) > 4 and fields[4].lower().rstrip(".").endswith(".local")
