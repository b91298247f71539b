"""``promptops.lock``: which version of each prompt a build ships with (core's lockfile.ts).

The release sha identifies the whole set: sha256 of the canonical JSON of ``{name: sha}`` (an entry with
tenant overrides contributes ``{sha, overrides: {tenant: {sha, label, base}}}`` instead). A lockfile is
verified whole: its shape, every embedded content and tenant override against its sha, and the release
sha against the entries; one failed check refuses the file (``invalid_lockfile`` or ``lockfile_tampered``).
When the lockfile serves a prompt, ``get(name, tenant=...)`` applies only that tenant's locked override.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Mapping, Optional, cast

from .canonical import SHA_PATTERN, canonical_json, content_sha, format_path, js_keys
from .errors import FieldIssue, PromptopsError, format_issues
from .overrides import override_sha, parse_override
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


TENANT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\Z")
_OVERRIDE_KEYS = ("version", "sha", "label", "override", "base")


def _release_part(entry: Mapping[str, Any]) -> Any:
    overrides = entry.get("overrides")
    if not overrides:
        return entry["sha"]
    return {
        "sha": entry["sha"],
        "overrides": {
            tenant: {"sha": o["sha"], "label": o["label"], "base": None if o["base"] is None else o["base"]["sha"]}
            for tenant, o in overrides.items()
        },
    }


def release_sha_of(prompts: Mapping[str, Mapping[str, Any]]) -> str:
    """sha256 of the canonical JSON of ``{name: part}``: the entry's sha, with its overrides when it has any."""
    return content_sha({name: _release_part(entry) for name, entry in prompts.items()})


def _format_override(o: Mapping[str, Any]) -> Dict[str, Any]:
    base = o["base"]
    out_base: Optional[Dict[str, Any]] = None
    if base is not None:
        out_base = {"version": base["version"], "sha": base["sha"]}
        if base.get("content") is not None:
            out_base["content"] = json.loads(canonical_json(base["content"]))
    return {
        "version": o["version"],
        "sha": o["sha"],
        "label": o["label"],
        "override": json.loads(canonical_json(o["override"])),
        "base": out_base,
    }


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
        if entry.get("overrides"):
            out["overrides"] = {t: _format_override(entry["overrides"][t]) for t in _sorted(entry["overrides"])}
        if entry.get("content") is not None:
            out["content"] = json.loads(canonical_json(entry["content"]))
        prompts[name] = out
    doc = {"lockfileVersion": lock["lockfileVersion"], "releaseSha": lock["releaseSha"], "prompts": prompts}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _positive_int(value: Any) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, float))
        and (not isinstance(value, float) or value.is_integer())
        and value > 0
    )


def _override_issues(overrides: Any, at: List[Any], add: Any, expected: Any, issues: List[FieldIssue]) -> None:
    """The shape of an entry's ``overrides`` (the override itself is checked by ``parse_override`` later)."""
    if not isinstance(overrides, dict):
        expected(at, "record", overrides)
        return
    for tenant in js_keys(overrides):
        o = overrides[tenant]
        where = at + [tenant]
        if TENANT_PATTERN.match(tenant) is None:
            add(where, 'a tenant id is letters, digits, "_", "." and "-", at most 128')
        if not isinstance(o, dict):
            expected(where, "object", o)
            continue
        if not _positive_int(o.get("version")):
            add(where + ["version"], "version must be a positive integer")
        if not isinstance(o.get("sha"), str) or SHA_PATTERN.match(o["sha"]) is None:
            add(where + ["sha"], "sha must be 64 hex characters")
        if not isinstance(o.get("label"), str) or o["label"] == "":
            add(where + ["label"], "label must name the label the override serves")
        if "override" not in o:
            add(where + ["override"], "the override is missing")
        base = o.get("base", "absent")
        if base is not None:
            if not isinstance(base, dict):
                expected(where + ["base"], "object", None if base == "absent" else base)
            else:
                if not _positive_int(base.get("version")):
                    add(where + ["base", "version"], "version must be a positive integer")
                if not isinstance(base.get("sha"), str) or SHA_PATTERN.match(base["sha"]) is None:
                    add(where + ["base", "sha"], "base.sha must be 64 hex characters")
                if "content" in base:
                    prefix = format_path(where + ["base", "content"])
                    for issue in content_shape_issues(base["content"]):
                        rest = issue["path"]
                        path = prefix if rest == "" else (f"{prefix}{rest}" if rest.startswith("[") else f"{prefix}.{rest}")
                        issues.append({"path": path, "message": issue["message"]})
                for key in js_keys(base):
                    if key not in ("version", "sha", "content"):
                        add(where + ["base", key], f'Unrecognized key: "{key}"')
        for key in js_keys(o):
            if key not in _OVERRIDE_KEYS:
                add(where + [key], f'Unrecognized key: "{key}"')


def _verify_override(file: str, name: str, tenant: str, o: Dict[str, Any]) -> None:
    """An override must be one the registry accepts and hash to its sha; a pinned base's content to its sha."""
    try:
        parsed = parse_override(o["override"])
    except PromptopsError as error:
        raise PromptopsError(
            "invalid",
            "invalid_lockfile",
            f"{file}: tenant '{tenant}''s override of '{name}': {error.message}",
            fix="regenerate it with `promptops lock`",
        ) from None
    if override_sha(parsed) != o["sha"]:
        raise PromptopsError(
            "invalid",
            "lockfile_tampered",
            f"{file}: tenant '{tenant}''s override of '{name}' does not hash to its sha {o['sha'][:7]}",
            fix="regenerate it with `promptops lock`",
        )
    o["override"] = parsed
    base = o["base"]
    if base is not None:
        content = base.get("content")
        if content is not None and (content.get("name") != name or prompt_sha(content) != base["sha"]):
            raise PromptopsError(
                "invalid",
                "lockfile_tampered",
                f"{file}: the pinned base of tenant '{tenant}''s override of '{name}' does not hash to its sha {base['sha'][:7]}",
                fix="regenerate it with `promptops lock`",
            )
        if isinstance(base["version"], float):
            base["version"] = int(base["version"])
    if isinstance(o["version"], float):
        o["version"] = int(o["version"])


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
            if "overrides" in entry:
                _override_issues(entry["overrides"], at + ["overrides"], add, expected, issues)
            for key in js_keys(entry):
                if key not in ("sha", "version", "label", "overrides", "content"):
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
        for tenant in js_keys(entry.get("overrides") or {}):
            _verify_override(file, name, tenant, entry["overrides"][tenant])
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
