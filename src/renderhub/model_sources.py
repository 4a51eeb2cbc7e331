"""Which model URLs a session may ask for, checked the same way at the API edge and in the host.

By default only files under `<data-dir>/models/` may be loaded. Anything else (another file
path, an http(s) URL) only when its URL starts with a prefix the operator allowed for models
(--allow-models) or lies in a storage container allowed for conversions (--allow-storage), so
a converted asset can be loaded from where its conversion wrote it: a blob URL with a SAS
query. Messages never show a URL's query (a SAS is a secret): it reads `?<SAS redacted>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from renderhub.conversions.jobs import ASSET_SUFFIX
from renderhub.errors import BadRequest
from renderhub.storage.locations import under_prefix

MODEL_SUFFIXES = (".glb", ".gltf", ".obj", ".ply", ".stl", ASSET_SUFFIX)
MAX_URL_LENGTH = 2048
MAX_MODELS_PER_SESSION = 16


@dataclass(frozen=True, slots=True)
class ModelSource:
    """A model URL that passed the policy: either a local path or an http(s) URL."""

    url: str
    path: Path | None = None

    @property
    def is_local(self) -> bool:
        return self.path is not None

    @property
    def suffix(self) -> str:
        name = self.path.name if self.path else PurePosixPath(urlsplit(self.url).path).name
        return PurePosixPath(name.lower()).suffix


def redact(url: str) -> str:
    """`url` fit for a message or a log: its query (a SAS) replaced by `?<SAS redacted>`."""
    head, mark, _query = url.partition("?")
    return f"{head}?<SAS redacted>" if mark else url


def redact_urls(text: str) -> str:
    """`text` (an exception's words, say) with the query of every URL in it redacted."""
    return re.sub(r"(https?://[^\s?'\"]*)\?[^\s'\"]*", r"\1?<SAS redacted>", text)


@dataclass(frozen=True, slots=True)
class ModelPolicy:
    """`allowed_prefixes`: --allow-models, plain string prefixes; `storage_prefixes`:
    --allow-storage, container prefixes matched on whole path segments (query left out)."""

    models_dir: Path
    allowed_prefixes: tuple[str, ...] = ()
    storage_prefixes: tuple[str, ...] = ()

    def check_all(self, urls: object, *, require_local_files: bool = False) -> list[ModelSource]:
        """Check a request's model list; optionally also that local files exist."""
        if urls is None:
            return []
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise BadRequest("'models' must be a list of model URLs (strings).")
        if len(urls) > MAX_MODELS_PER_SESSION:
            raise BadRequest(f"A session loads at most {MAX_MODELS_PER_SESSION} models.")
        sources = [self.check(url) for url in urls]
        for source in sources:
            if require_local_files and source.path is not None and not _is_file(source.path):
                raise BadRequest(f"Model {redact(source.url)!r} does not exist.", target="models")
        return sources

    def check(self, url: str) -> ModelSource:
        if not url or len(url) > MAX_URL_LENGTH:
            raise BadRequest(f"A model URL must be 1 to {MAX_URL_LENGTH} characters long.")
        try:
            source = self._resolve(url)
        except (ValueError, OSError) as exc:  # a NUL byte, a lone surrogate, a bad IPv6 host...
            raise BadRequest(f"Model {redact(url)!r} is not a valid URL or file path.") from exc
        if source.suffix not in _LOWER_SUFFIXES:
            raise BadRequest(
                f"Model {redact(url)!r} has an unsupported type; supported: "
                f"{', '.join(MODEL_SUFFIXES)}."
            )
        return source

    def _resolve(self, url: str) -> ModelSource:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme in ("http", "https"):
            if not parts.hostname:
                raise BadRequest(f"Model URL {redact(url)!r} has no host.")
            if not self._allowed_by_prefix(url):
                raise BadRequest(
                    f"Model URL {redact(url)!r} is not allowed: the operator allows only files "
                    "in the models directory and URLs starting with an allowed prefix "
                    "(renderhub serve --allow-models PREFIX, or --allow-storage PREFIX for "
                    "converted assets)."
                )
            return ModelSource(url=url)
        if scheme == "file":
            if parts.netloc not in ("", "localhost"):
                raise BadRequest(f"Model URL {redact(url)!r} names a remote file host.")
            return self._local(url, Path(unquote(parts.path)))
        if scheme == "":
            return self._local(url, self.models_dir / unquote(url))
        raise BadRequest(
            f"Model URL {redact(url)!r} has an unsupported scheme; use file, http or https."
        )

    def _local(self, url: str, path: Path) -> ModelSource:
        resolved = path.resolve()
        inside = resolved.is_relative_to(self.models_dir.resolve())
        if not inside and not self._allowed_by_prefix(resolved.as_uri()):
            raise BadRequest(
                f"Model {redact(url)!r} is outside the models directory; the operator must "
                "allow it with renderhub serve --allow-models PREFIX."
            )
        return ModelSource(url=url, path=resolved)

    def _allowed_by_prefix(self, url: str) -> bool:
        if any(url.startswith(prefix) for prefix in self.allowed_prefixes):
            return True
        without_query = url.partition("?")[0].partition("#")[0]
        return any(under_prefix(without_query, prefix) for prefix in self.storage_prefixes)


_LOWER_SUFFIXES = frozenset(suffix.lower() for suffix in MODEL_SUFFIXES)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (ValueError, OSError):  # e.g. a name too long for the file system
        return False
