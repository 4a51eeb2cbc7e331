"""Why a host could not load its models, told in one sentence for the session's user."""

from __future__ import annotations


class ModelLoadError(Exception):
    """A model could not be checked, fetched or parsed. `message` is shown to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
