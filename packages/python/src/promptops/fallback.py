"""What the client serves when the registry has nothing for a request (the SDK's fallback.ts).

A lockfile's embedded contents (``promptops lock --embed``), then in-code defaults. A lock entry serves the
label it was locked from; one locked by version or sha (label null) serves any label, since it is what
this build ships. In-code defaults serve any label, and a pin only when it names their sha.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, NamedTuple, Optional

from .errors import PromptopsError
from .lockfile import parse_lockfile
from .prompt import prompt_sha, validate_prompt_content
from .refs import parse_ref
from .snapshot import Resolution, Snapshot, SnapshotOverride, SnapshotPrompt, SnapshotVersion, resolve_from_snapshot

__all__ = ["Fallback", "EMPTY_FALLBACK", "build_fallback", "defaults_from", "read_lockfile", "resolve_fallback", "fallback_miss"]


class Fallback(NamedTuple):
    release_sha: Optional[str]
    lock: Snapshot
    unlabelled: Dict[str, SnapshotVersion]
    defaults: Dict[str, SnapshotVersion]
    without_content: List[str]
    lockfile: Optional[str]


EMPTY_FALLBACK = Fallback(None, Snapshot("", 0, {}), {}, {}, [], None)


def defaults_from(prompts: Optional[Mapping[str, Any]]) -> Dict[str, SnapshotVersion]:
    """In-code defaults, validated like a push would be: a broken default raises at once."""
    defaults: Dict[str, SnapshotVersion] = {}
    for name, value in (prompts or {}).items():
        content = validate_prompt_content(value, f"fallback_prompts['{name}']")
        if content["name"] != name:
            raise PromptopsError(
                "invalid",
                "invalid_options",
                f"fallback_prompts['{name}'] is named '{content['name']}'",
                fix="key each default by its content name",
            )
        # Version 0: an in-code default was never pushed, so it has no registry version number.
        defaults[name] = SnapshotVersion(0, prompt_sha(content), content)
    return defaults


def read_lockfile(path: str) -> Dict[str, Any]:
    """Reads and verifies a lockfile from disk (``lockfile_unreadable``, ``invalid_lockfile``, ``lockfile_tampered``)."""
    try:
        with open(path, "r", encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise PromptopsError(
            "invalid",
            "lockfile_unreadable",
            f"cannot read lockfile {path}: {reason}",
            fix="check fallback_lockfile; generate it with `promptops lock --embed`",
        ) from None
    return parse_lockfile(text, path)


def build_fallback(
    lock: Optional[Mapping[str, Any]], defaults: Dict[str, SnapshotVersion], origin: str = "fallback_lockfile"
) -> Fallback:
    prompts: Dict[str, SnapshotPrompt] = {}
    unlabelled: Dict[str, SnapshotVersion] = {}
    without_content: List[str] = []
    for name, entry in ({} if lock is None else lock["prompts"]).items():
        if entry.get("content") is None:
            without_content.append(name)
            continue
        version = SnapshotVersion(int(entry["version"]), entry["sha"], entry["content"])
        labels: Dict[str, str] = {}
        if entry["label"] is None:
            unlabelled[name] = version
        else:
            labels[entry["label"]] = entry["sha"]
        prompts[name] = SnapshotPrompt(labels, {entry["sha"]: version}, overrides=_locked_overrides(entry))
    return Fallback(
        None if lock is None else lock["releaseSha"],
        Snapshot("", 0, prompts),
        unlabelled,
        defaults,
        without_content,
        None if lock is None else origin,
    )


def _locked_overrides(entry: Mapping[str, Any]) -> Dict[str, SnapshotOverride]:
    """The entry's overrides (verified by parse_lockfile), as the snapshot holds them. A pinned base
    without embedded content is left out: that tenant gets the shared prompt rather than a guess."""
    out: Dict[str, SnapshotOverride] = {}
    for tenant, o in (entry.get("overrides") or {}).items():
        base = o["base"]
        if base is not None and base.get("content") is None:
            continue
        pinned = None if base is None else SnapshotVersion(int(base["version"]), base["sha"], base["content"])
        out[tenant] = SnapshotOverride(int(o["version"]), o["sha"], o["label"], o["override"], pinned)
    return out


def fallback_miss(fallback: Fallback, name: str, label: str, ref: Optional[str]) -> str:
    """Why the fallback cannot serve ``name`` for ``label`` (or ``ref``): one clause of an error message."""
    if fallback.lockfile is None:
        return "there is no lockfile to fall back on (fallback_lockfile)"
    lockfile = f"the lockfile {fallback.lockfile}"
    if name in fallback.without_content:
        return f"{lockfile} names '{name}' without its content"
    entry = fallback.lock.prompts.get(name)
    if entry is None:
        return f"{lockfile} has no entry for '{name}'"
    if ref is not None:
        return f"{lockfile} does not hold {name}@{ref}"
    labels = sorted(entry.labels.keys())
    return f"{lockfile} pins '{name}' for {', '.join(labels) or 'no label'} only, not {label}"


def _resolution(name: str, version: SnapshotVersion, label: Optional[str]) -> Resolution:
    return Resolution(name, version.version, version.sha, label, version.content)


def resolve_fallback(fallback: Fallback, name: str, label: str, ref: Optional[str]) -> Optional[Resolution]:
    """Resolves by label (``ref`` None) or by a ref (``v17``, sha prefix, label) against the fallback."""
    from_lock = resolve_from_snapshot(fallback.lock, name if ref is None else f"{name}@{ref}", label=label)
    if from_lock is not None:
        return from_lock
    parsed = None if ref is None else parse_ref(ref)
    for source in (fallback.unlabelled, fallback.defaults):
        version = source.get(name)
        if version is None:
            continue
        if parsed is None:
            return _resolution(name, version, label)
        if parsed["kind"] == "label":
            return _resolution(name, version, parsed["label"])
        if version.sha.startswith(parsed["prefix"]) if parsed["kind"] == "sha" else parsed["version"] == version.version:
            return _resolution(name, version, None)
    return None
