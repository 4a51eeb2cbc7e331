from datetime import timedelta

import pytest

from renderhub.errors import BadRequest
from renderhub.timespan import format_timespan, parse_timespan


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4:0:0", timedelta(hours=4)),
        ("04:00:00", timedelta(hours=4)),
        ("0:45:0", timedelta(minutes=45)),
        ("1.02:30:00", timedelta(days=1, hours=2, minutes=30)),
        ("00:00:01.5", timedelta(seconds=1.5)),
        ("5:30", timedelta(hours=5, minutes=30)),
    ],
)
def test_parses_dotnet_timespans(text: str, expected: timedelta) -> None:
    assert parse_timespan(text) == expected


@pytest.mark.parametrize(
    "text", ["", "abc", "-1:0:0", "24:00:00", "1:60:00", "1.2.3", "4", 240, "\u0664:0:0"]
)
def test_rejects_what_is_not_a_timespan(text: object) -> None:
    with pytest.raises(BadRequest):
        parse_timespan(text)


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        (timedelta(hours=4), "04:00:00"),
        (timedelta(seconds=1), "00:00:01"),
        (timedelta(days=1, hours=2, minutes=30), "1.02:30:00"),
        (timedelta(seconds=59.9), "00:00:59"),
    ],
)
def test_formats_hh_mm_ss_with_days_prefix(span: timedelta, expected: str) -> None:
    assert format_timespan(span) == expected


def test_round_trip() -> None:
    for text in ("04:00:00", "1.00:00:00", "00:45:09"):
        assert format_timespan(parse_timespan(text)) == text
