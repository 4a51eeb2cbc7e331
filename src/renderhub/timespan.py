""".NET TimeSpan strings, as the v1 API reads and writes them ('4:0:0', '1.02:30:00')."""

from __future__ import annotations

import re
from datetime import timedelta

from renderhub.errors import BadRequest

_TIMESPAN = re.compile(
    r"^\s*(?:(?P<days>[0-9]{1,4})\.)?(?P<hours>[0-9]{1,2}):(?P<minutes>[0-9]{1,2})"
    r"(?::(?P<seconds>[0-9]{1,2})(?:\.(?P<fraction>[0-9]{1,7}))?)?\s*$"
)


def parse_timespan(text: object) -> timedelta:
    """Parse '[d.]hh:mm[:ss[.fffffff]]' into a timedelta; raise BadRequest otherwise."""
    if not isinstance(text, str):
        raise BadRequest(f"Expected a time span such as '4:0:0', got {text!r}.")
    match = _TIMESPAN.match(text)
    if match is None:
        raise BadRequest(f"{text!r} is not a time span; write it as 'h:m:s', e.g. '4:0:0'.")
    hours, minutes = int(match["hours"]), int(match["minutes"])
    seconds = int(match["seconds"] or 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        raise BadRequest(f"{text!r} is out of range: hours 0-23, minutes and seconds 0-59.")
    fraction = float(f"0.{match['fraction']}") if match["fraction"] else 0.0
    return timedelta(
        days=int(match["days"] or 0),
        hours=hours,
        minutes=minutes,
        seconds=seconds + fraction,
    )


def format_timespan(span: timedelta) -> str:
    """Write 'hh:mm:ss', with a 'd.' prefix past 24 hours; sub-seconds are dropped."""
    total = max(0, int(span.total_seconds()))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    return f"{days}.{clock}" if days else clock
