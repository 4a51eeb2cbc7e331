"""--ice-server values, and stripping a browser's mDNS candidates from its offer."""

from __future__ import annotations

import aioice.ice
import pytest

from renderhub.host.stream.ice import (
    IceServer,
    IceServerError,
    check_local_address,
    gather_only_on,
    parse_ice_server,
    without_mdns_candidates,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stun:stun.example.org", IceServer(("stun:stun.example.org",))),
        ("stun:10.0.0.1:3478", IceServer(("stun:10.0.0.1:3478",))),
        (
            "turn:alice:s3cr%40t@turn.example.org:3478?transport=tcp",
            IceServer(("turn:turn.example.org:3478?transport=tcp",), "alice", "s3cr@t"),
        ),
        (
            "turns:bob:pw:with:colons@[fd00::1]:5349",
            IceServer(("turns:[fd00::1]:5349",), "bob", "pw:with:colons"),
        ),
        (
            '{"urls": ["turn:t.example.org", "stun:s.example.org"], "username": "u", '
            '"credential": "c"}',
            IceServer(("turn:t.example.org", "stun:s.example.org"), "u", "c"),
        ),
        ('{"urls": "stun:s.example.org"}', IceServer(("stun:s.example.org",))),
    ],
)
def test_ice_servers_are_read(text: str, expected: IceServer) -> None:
    server = parse_ice_server(text)

    assert server == expected
    rtc = server.to_rtc()
    assert rtc.urls == list(expected.urls)
    assert (rtc.username, rtc.credential) == (expected.username, expected.credential)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("http://stun.example.org", "is not a STUN or TURN URL"),
        ("turn:turn.example.org", "A TURN server needs a username and a credential."),
        ("stun:user:pw@stun.example.org", "credentials go as turn:USER:PASS@HOST"),
        ("stun:s.example.org:70000", "has a port outside 1-65535"),
        ("stun:s.example.org?transport=udp", "a STUN URL takes no transport"),
        ("{not json", "is not valid JSON"),
        ('{"urls": []}', 'The JSON form needs "urls"'),
        ('{"urls": "stun:a", "ttl": 5}', "The JSON form does not take ttl."),
    ],
)
def test_bad_ice_servers_are_refused(text: str, message: str) -> None:
    with pytest.raises(IceServerError, match=message.replace("?", r"\?")):
        parse_ice_server(text)


def test_the_credential_stays_out_of_the_log_line() -> None:
    server = parse_ice_server("turn:alice:secret@turn.example.org")

    assert server.describe() == "turn:turn.example.org (user alice)"


def test_mdns_candidates_are_stripped_and_the_rest_kept() -> None:
    offer = (
        "v=0\r\n"
        "a=candidate:1 1 udp 2113937151 4f1b7a3e-1d2c-4a5b-9c8d.local 50000 typ host\r\n"
        "a=candidate:2 1 udp 2113939711 192.0.2.7 50001 typ host\r\n"
        "a=candidate:3 1 udp 1677729535 203.0.113.9 50002 typ srflx raddr 0.0.0.0 rport 0\r\n"
        "a=end-of-candidates\r\n"
    )

    stripped = without_mdns_candidates(offer)

    assert ".local" not in stripped
    assert stripped.count("a=candidate:") == 2
    assert stripped.endswith("a=end-of-candidates\r\n")


def test_gathering_can_be_limited_to_named_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", aioice.ice.get_host_addresses)

    gather_only_on(("127.0.0.1", "::1"))

    assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False) == ["127.0.0.1"]
    assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True) == ["127.0.0.1", "::1"]


def test_a_local_address_is_checked_and_normalised() -> None:
    assert check_local_address(" 127.0.0.1 ") == "127.0.0.1"
    with pytest.raises(IceServerError, match="is not an IP address"):
        check_local_address("127.0.0")
