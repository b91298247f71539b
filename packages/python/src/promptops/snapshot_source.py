"""Where the client's snapshots come from: ``GET /api/v1/snapshot``, gzip-compressed, and conditional on the
ETag of the snapshot the client holds (the SDK's snapshot-source.ts). The ETag is sent only while the
client holds exactly that snapshot (same cursor: no change event applied since), so a 304 says the held
snapshot is the server's current one. A 200 is verified before anything of it is used, reusing versions
already held (content-addressed: the same sha is the same content) so only new ones are hashed."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Tuple
from urllib.parse import quote

from .errors import PromptopsError
from .http import Http
from .snapshot import Snapshot, validate_snapshot

__all__ = ["SnapshotSource", "scope_query"]


def _invalid_scope(message: str) -> PromptopsError:
    return PromptopsError(
        "invalid",
        "invalid_options",
        f"Client: scope.{message}",
        fix="pass scope={'names': ['a', 'b']} and/or {'prefix': 'checkout/'}, or leave scope out for every prompt",
    )


def scope_query(scope: Optional[Mapping[str, Any]]) -> str:
    """``&names=…&prefix=…`` for the snapshot and the change feed; empty for the whole project."""
    if scope is None:
        return ""
    names = scope.get("names")
    prefix = scope.get("prefix")
    if names is not None and (isinstance(names, str) or not all(isinstance(name, str) for name in names)):
        raise _invalid_scope("names must be a list of prompt names")
    if prefix is not None and (not isinstance(prefix, str) or prefix == ""):
        raise _invalid_scope("prefix must be a non-empty string")
    out = ""
    if names is not None:
        out += "&names=" + ",".join(quote(name, safe="") for name in names)
    if prefix is not None:
        out += "&prefix=" + quote(prefix, safe="")
    return out


class SnapshotSource:
    def __init__(self, http: Http, scope: str = "") -> None:
        self._http = http
        self.scope = scope
        self.path = "/api/v1/snapshot" + ("" if scope == "" else "?" + scope[1:])
        self._validator: Optional[Tuple[str, int]] = None

    def etag_of(self, snapshot: Snapshot) -> Optional[str]:
        """The ETag of ``snapshot`` when the server gave one for exactly it (for the cache file)."""
        validator = self._validator
        return validator[0] if validator is not None and validator[1] == snapshot.cursor else None

    def remember(self, snapshot: Snapshot, etag: Optional[str]) -> None:
        """A snapshot the client holds with the ETag it was served with (from the cache file)."""
        self._validator = None if etag is None else (etag, snapshot.cursor)

    def fetch(self, held: Snapshot, timeout_ms: Optional[float] = None) -> Snapshot:
        """The server's snapshot, verified; ``held`` itself when the server answers that it is current (304)."""
        answer = self._http.revalidate(self.path, self.etag_of(held), timeout_ms)
        if answer is None:
            return held
        data, etag = answer
        snapshot = validate_snapshot(data, f"GET {self._http.base_url}{self.path}", held)
        self._validator = None if etag is None else (etag, snapshot.cursor)
        return snapshot
