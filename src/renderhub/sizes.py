"""Session sizes: how they are spelled and what each one allows."""

from __future__ import annotations

from enum import StrEnum

from renderhub.errors import BadRequest


class SessionSize(StrEnum):
    STANDARD = "Standard"
    PREMIUM = "Premium"

    @classmethod
    def parse(cls, value: object) -> SessionSize:
        """Accept a size in any letter case (the official scripts send 'standard')."""
        if isinstance(value, str):
            for size in cls:
                if size.value.lower() == value.strip().lower():
                    return size
        allowed = ", ".join(s.value for s in cls)
        raise BadRequest(f"Unknown session size {value!r}; expected one of: {allowed}.")

    @property
    def polygon_limit(self) -> int | None:
        """The most polygons a host of this size renders; None means no fixed limit."""
        return STANDARD_POLYGON_LIMIT if self is SessionSize.STANDARD else None


STANDARD_POLYGON_LIMIT = 20_000_000
