"""The on-disk snapshot cache, in the TypeScript SDK's format (``promptops-sdk-cache`` v1), so either SDK
reads the other's file. Written atomically (temp file + rename, mode 0600); read back with every
version's sha verified, so a tampered or corrupt cache is refused whole. It keeps the snapshot's ETag,
so a restarted client revalidates it with one conditional request."""

from __future__ import annotations

import json
import os
import secrets
from datetime import datetime, timezone
from typing import NamedTuple, Optional

from .errors import PromptopsError
from .snapshot import Snapshot, snapshot_to_json, validate_snapshot

__all__ = ["CACHE_FORMAT", "CACHE_FORMAT_VERSION", "CacheEntry", "read_cache_entry", "write_cache_file"]

CACHE_FORMAT = "promptops-sdk-cache"
CACHE_FORMAT_VERSION = 1


class CacheEntry(NamedTuple):
    snapshot: Snapshot
    """Verified: every version's content hashes to its sha."""
    etag: Optional[str]


def read_cache_entry(path: str, url: str) -> Optional[CacheEntry]:
    """The cached snapshot and its ETag; None when there is no file or it belongs to another server."""
    try:
        with open(path, "r", encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise PromptopsError("invalid", "cache_unreadable", f"cannot read cache file {path}: {reason}") from None
    try:
        doc = json.loads(text)
    except ValueError:
        raise PromptopsError(
            "invalid", "invalid_snapshot", f"cache file {path} is not valid JSON", fix="delete it; the client rewrites it from the server"
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != CACHE_FORMAT or doc.get("formatVersion") != CACHE_FORMAT_VERSION:
        raise PromptopsError(
            "invalid",
            "invalid_snapshot",
            f"{path} is not a promptops SDK cache file (format {CACHE_FORMAT} v{CACHE_FORMAT_VERSION})",
            fix="point cache_file at a file the SDK owns, or delete it",
        )
    if doc.get("url") != url:
        return None
    etag = doc.get("etag") if isinstance(doc.get("etag"), str) else None
    return CacheEntry(validate_snapshot(doc.get("snapshot"), f"cache file {path}"), etag)


def _now_iso() -> str:
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def write_cache_file(path: str, url: str, snapshot: Snapshot, etag: Optional[str] = None) -> None:
    """Writes the snapshot atomically (``cache_write_failed`` when it cannot)."""
    doc = {
        "format": CACHE_FORMAT,
        "formatVersion": CACHE_FORMAT_VERSION,
        "url": url,
        "savedAt": _now_iso(),
    }
    if etag is not None:
        doc["etag"] = etag
    doc["snapshot"] = snapshot_to_json(snapshot)
    temp = f"{path}.{os.getpid()}.{secrets.token_hex(6)}.tmp"
    try:
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(doc, ensure_ascii=False, separators=(",", ":")))
        os.replace(temp, path)
    except OSError as error:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise PromptopsError("internal", "cache_write_failed", f"cannot write cache file {path}: {error.strerror or error}") from None
