"""The polygon limit of a session's size, and what the user is told when models exceed it."""

from __future__ import annotations

from dataclasses import dataclass

from renderhub.sizes import SessionSize


@dataclass(frozen=True, slots=True)
class PolygonBudget:
    """At most `limit` polygons are rendered (None: no limit); more shows a checkerboard."""

    size: SessionSize
    limit: int | None

    def exceeded_by(self, polygons: int) -> bool:
        return self.limit is not None and polygons > self.limit

    def message(self, polygons: int) -> str | None:
        """None within the limit; otherwise one sentence for the user."""
        if not self.exceeded_by(polygons):
            return None
        text = (
            f"The models have {polygons:,} polygons, more than the {self.size.value} size's "
            f"limit of {self.limit:,}; a checkerboard is shown in their place."
        )
        if self.size is SessionSize.STANDARD:
            text += " Use a Premium session for models this large."
        return text
