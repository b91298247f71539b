"""``promptops.lock``: which version of each prompt a build ships with (core's lockfile.ts).

The release sha identifies the whole set: sha256 of the canonical JSON of ``{name: sha}``. A lockfile is
verified whole: its shape, every embedded content against its sha, and the release sha against the
entries; one failed check refuses the file (``invalid_lockfile`` or ``lockfile_tampered``).
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, cast

from .canonical import SHA_PATTERN, canonical_json, content_sha, format_path, js_keys
from .errors import FieldIssue, PromptopsError, format_issues
from .prompt import prompt_sha
from .schema import content_shape_issues, js_type

__all__ = [
    "LOCKFILE_NAME",
    "LOCKFILE_VERSION",
    "parse_lockfile",
    "format_lockfile",
    "create_lockfile",
    "release_sha_of",
    "js_json_parse",
]

LOCKFILE_NAME = "promptops.lock"
LOCKFILE_VERSION = 1

Lockfile = Dict[str, Any]
"""``{"lockfileVersion": 1, "releaseSha": ..., "prompts": {name: {"sha", "version", "label", "content"?}}}``"""


def _no_constants(name: str) -> Any:
    raise ValueError(f"Unexpected token {name} in JSON")


def js_json_parse(text: str) -> Any:
    """``JSON.parse``: strict JSON (no NaN or Infinity literals)."""
    return json.loads(text, parse_constant=_no_constants)


def release_sha_of(prompts: Mapping[str, Mapping[str, Any]]) -> str:
    """sha256 of the canonical JSON of ``{name: sha}``."""
    return content_sha({name: entry["sha"] for name, entry in prompts.items()})


def _sorted(prompts: Mapping[str, Any]) -> List[str]:
    return sorted(prompts.keys(), key=lambda name: name.encode("utf-16-be", "surrogatepass"))


def create_lockfile(prompts: Mapping[str, Mapping[str, Any]]) -> Lockfile:
    """A lockfile of these entries, sorted by name, with its release sha."""
    ordered = {name: dict(prompts[name]) for name in _sorted(prompts)}
    return {"lockfileVersion": LOCKFILE_VERSION, "releaseSha": release_sha_of(ordered), "prompts": ordered}


def format_lockfile(lock: Mapping[str, Any]) -> str:
    """The lockfile's text as core writes it: 2-space JSON, entries by name, content in canonical order."""
    prompts: Dict[str, Any] = {}
    for name in _sorted(lock["prompts"]):
        entry = lock["prompts"][name]
        out: Dict[str, Any] = {"sha": entry["sha"], "version": entry["version"], "label": entry["label"]}
        if entry.get("content") is not None:
            out["content"] = json.loads(canonical_json(entry["content"]))
        prompts[name] = out
    doc = {"lockfileVersion": lock["lockfileVersion"], "releaseSha": lock["releaseSha"], "prompts": prompts}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _schema_issues(data: Any) -> List[FieldIssue]:
    issues: List[FieldIssue] = []

    def add(path: List[Any], message: str) -> None:
        issues.append({"path": format_path(path), "message": message})

    def expected(path: List[Any], kind: str, value: Any, absent: bool = False) -> None:
        add(path, f"Invalid input: expected {kind}, received {'undefined' if absent else js_type(value)}")

    if not isinstance(data, dict):
        expected([], "object", data)
        return issues
    if data.get("lockfileVersion", None) != LOCKFILE_VERSION or isinstance(data.get("lockfileVersion"), bool):
        add(["lockfileVersion"], f"lockfileVersion must be {LOCKFILE_VERSION}")
    if "releaseSha" not in data:
        expected(["releaseSha"], "string", None, absent=True)
    elif not isinstance(data["releaseSha"], str):
        expected(["releaseSha"], "string", data["releaseSha"])
    elif SHA_PATTERN.match(data["releaseSha"]) is None:
        add(["releaseSha"], "releaseSha must be 64 hex characters")
    if "prompts" not in data:
        expected(["prompts"], "record", None, absent=True)
    elif not isinstance(data["prompts"], dict):
        expected(["prompts"], "record", data["prompts"])
    else:
        for name in js_keys(data["prompts"]):
            entry = data["prompts"][name]
            at = ["prompts", name]
            if not isinstance(entry, dict):
                expected(at, "object", entry)
                continue
            sha = entry.get("sha")
            if "sha" not in entry:
                expected(at + ["sha"], "string", None, absent=True)
            elif not isinstance(sha, str):
                expected(at + ["sha"], "string", sha)
            elif SHA_PATTERN.match(sha) is None:
                add(at + ["sha"], "sha must be 64 hex characters")
            version = entry.get("version")
            if "version" not in entry:
                expected(at + ["version"], "number", None, absent=True)
            elif isinstance(version, bool) or not isinstance(version, (int, float)):
                expected(at + ["version"], "number", version)
            elif isinstance(version, float) and not version.is_integer():
                add(at + ["version"], "Invalid input: expected int, received number")
            elif version <= 0:
                add(at + ["version"], "Too small: expected number to be >0")
            if "label" not in entry:
                expected(at + ["label"], "string", None, absent=True)
            elif entry["label"] is not None and not isinstance(entry["label"], str):
                expected(at + ["label"], "string", entry["label"])
            if "content" in entry:
                prefix = format_path(at + ["content"])
                for issue in content_shape_issues(entry["content"]):
                    rest = issue["path"]
                    path = prefix if rest == "" else (f"{prefix}{rest}" if rest.startswith("[") else f"{prefix}.{rest}")
                    issues.append({"path": path, "message": issue["message"]})
            for key in js_keys(entry):
                if key not in ("sha", "version", "label", "content"):
                    add(at + [key], f'Unrecognized key: "{key}"')
    for key in js_keys(data):
        if key not in ("lockfileVersion", "releaseSha", "prompts"):
            add([key], f'Unrecognized key: "{key}"')
    return issues


def parse_lockfile(text: str, file: str = LOCKFILE_NAME) -> Lockfile:
    """Parses and verifies a lockfile: the schema, every embedded content against its sha, and the release
    sha against the entries. A lockfile that fails any check is refused whole."""
    try:
        data = js_json_parse(text)
    except ValueError as error:
        raise PromptopsError(
            "invalid",
            "invalid_lockfile",
            f"{file}: not valid JSON: {error}",
            fix="regenerate it with `promptops lock`",
        ) from None
    issues = _schema_issues(data)
    if issues:
        raise PromptopsError(
            "invalid",
            "invalid_lockfile",
            f"{file}: invalid lockfile:\n{format_issues(issues)}",
            issues=issues,
            fix="regenerate it with `promptops lock`",
        )
    for name in js_keys(data["prompts"]):
        entry = data["prompts"][name]
        content = entry.get("content")
        if content is not None and (content.get("name") != name or prompt_sha(content) != entry["sha"]):
            raise PromptopsError(
                "invalid",
                "lockfile_tampered",
                f"{file}: the embedded content of '{name}' does not hash to its sha {entry['sha'][:7]}",
                fix="regenerate it with `promptops lock --embed`",
            )
        if isinstance(entry["version"], float):
            entry["version"] = int(entry["version"])
    if release_sha_of(data["prompts"]) != data["releaseSha"]:
        raise PromptopsError(
            "invalid",
            "lockfile_tampered",
            f"{file}: releaseSha does not match the entries",
            fix="regenerate it with `promptops lock`",
        )
    return cast(Lockfile, data)


def verify_lockfile(lock: Mapping[str, Any], what: str = "fallback.lockfile") -> Lockfile:
    """A lockfile given as an object is verified like one read from disk."""
    return parse_lockfile(format_lockfile(lock), what)


def lockfile_entries(lock: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """The entries of a parsed lockfile (empty without one)."""
    return {} if lock is None else dict(lock["prompts"])
