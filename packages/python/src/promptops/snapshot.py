"""Snapshots: what the client holds in memory (core's snapshot.ts and the SDK's snapshot-store.ts).

Per prompt: where each label points and the content of every version those labels need. Snapshots are
never mutated: applying a change event makes a new top-level object and a new entry for the one prompt
it touches (copy-on-write), so a reader on another thread always sees a consistent one. Every version
that arrives from outside is checked against its sha before it is kept.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple

from .canonical import SHA_PATTERN, canonical_json, js_json, short_sha
from .errors import PromptopsError
from .assignment import assign_arm
from .lockfile import TENANT_PATTERN
from .overrides import effective_prompt, override_sha, parse_override
from .refs import parse_ref
from .targeting import decide_targeting, match_rule

__all__ = [
    "Snapshot",
    "SnapshotPrompt",
    "SnapshotVersion",
    "SnapshotRollout",
    "SnapshotOverride",
    "TenantResolution",
    "ShadowTarget",
    "Resolution",
    "EMPTY_SNAPSHOT",
    "DEFAULT_LABEL",
    "resolve_from_snapshot",
    "ingest_version",
    "validate_snapshot",
    "parse_feed_event",
    "apply_label_event",
    "apply_rollout_event",
    "apply_override_event",
    "resolve_tenant",
    "ingest_rollout",
    "advance_cursor",
    "diff_labels",
    "decode_event_text",
    "snapshot_to_json",
    "hashes_to",
]

DEFAULT_LABEL = "production"
_MAX_SAFE = 2**53 - 1


class SnapshotVersion(NamedTuple):
    """One version: its registry number (0 for an in-code default), sha and verified content."""

    version: int
    sha: str
    content: Dict[str, Any]


class SnapshotRollout(NamedTuple):
    """A label's active rollout (running or paused): units with bucket < ramp x 100 are served the
    candidate (split) or have their call copied to it (shadow)."""

    id: str
    salt: str
    mode: str
    state: str
    ramp: float
    candidate: SnapshotVersion
    rules: Optional[List[Dict[str, Any]]] = None
    """Targeting rules tried in order before the ramp (targeting.py); None when it has none."""
    killed: bool = False
    """The kill switch: everyone is served the baseline."""


class SnapshotOverride(NamedTuple):
    """A tenant's current override of a prompt: it serves that tenant's resolutions of ``label``, on what
    the label serves, or on ``base`` (a pinned version) when set."""

    version: int
    sha: str
    label: str
    override: Dict[str, Any]
    base: Optional[SnapshotVersion]


_NO_ROLLOUTS: Dict[str, SnapshotRollout] = {}
_NO_LABEL_RULES: Dict[str, List[Dict[str, Any]]] = {}
_NO_OVERRIDES: Dict[str, SnapshotOverride] = {}


class SnapshotPrompt(NamedTuple):
    """label -> sha, sha -> version, label -> its active rollout, and label -> its own targeting rules
    (never mutated: copy to change)."""

    labels: Dict[str, str]
    versions: Dict[str, SnapshotVersion]
    rollouts: Dict[str, SnapshotRollout] = _NO_ROLLOUTS
    label_rules: Dict[str, List[Dict[str, Any]]] = _NO_LABEL_RULES
    """Rules ``{name?, when, serve}``, ``serve`` ``{"label": L}`` or ``{"version": SnapshotVersion}``."""
    overrides: Dict[str, SnapshotOverride] = _NO_OVERRIDES
    """tenant -> its current override (read only by that tenant's own key)."""


class Snapshot(NamedTuple):
    """A project's labels and the content they point at, as of ``cursor`` (the change feed's position)."""

    project: str
    cursor: int
    prompts: Dict[str, SnapshotPrompt]


class ShadowTarget(NamedTuple):
    """The candidate a shadow rollout runs on a copy of this call (its output recorded, never returned)."""

    rollout_id: str
    version: int
    sha: str
    content: Dict[str, Any]


class Resolution(NamedTuple):
    """What a name (and label or ref) resolves to. ``variant``: ``base`` (no rollout on the label),
    ``baseline`` or ``candidate`` (the arm of the label's active rollout)."""

    name: str
    version: int
    sha: str
    label: Optional[str]
    content: Dict[str, Any]
    variant: str = "base"
    rollout_id: Optional[str] = None
    shadow: Optional[ShadowTarget] = None
    rule: Optional[int] = None
    """The index of the rollout's targeting rule that decided, when one did."""
    label_rule: Optional[int] = None
    """The index of the label's own targeting rule that decided, when one did (no rollout then)."""


EMPTY_SNAPSHOT = Snapshot("", 0, {})


def _by_label(
    name: str,
    prompt: SnapshotPrompt,
    label: str,
    unit_key: Optional[str] = None,
    context: Optional[Mapping[str, Any]] = None,
) -> Optional[Resolution]:
    sha = prompt.labels.get(label)
    version = None if sha is None else prompt.versions.get(sha)
    if version is None:
        return None
    rules = prompt.label_rules.get(label)
    if rules is not None:
        ruled = _by_label_rule(name, prompt, label, rules, context)
        if ruled is not None:
            return ruled
    rollout = prompt.rollouts.get(label)
    if rollout is None:
        return Resolution(name, version.version, version.sha, label, version.content)
    if unit_key is None and context is not None and isinstance(context.get("targetingKey"), str):
        unit_key = context["targetingKey"]
    if rollout.rules is not None or rollout.killed:
        return _targeted(name, prompt, label, version, rollout, unit_key, context)
    # As core's snapshot.ts: a split serves the candidate to keyed units in the ramp; a shadow answers with
    # the baseline and names the candidate for units in its share (no key: only at 100 %).
    no_key = unit_key is None or unit_key == ""
    in_ramp = rollout.ramp >= 100 if no_key else assign_arm(rollout.salt, unit_key, rollout.ramp).arm == "candidate"
    if rollout.mode == "split" and in_ramp and not no_key:
        c = rollout.candidate
        return Resolution(name, c.version, c.sha, label, c.content, "candidate", rollout.id, None)
    shadow = None
    if rollout.mode == "shadow" and in_ramp:
        c = rollout.candidate
        shadow = ShadowTarget(rollout.id, c.version, c.sha, c.content)
    return Resolution(name, version.version, version.sha, label, version.content, "baseline", rollout.id, shadow)


def _by_label_rule(
    name: str, prompt: SnapshotPrompt, label: str, rules: List[Dict[str, Any]], context: Optional[Mapping[str, Any]]
) -> Optional[Resolution]:
    # As core's byLabelRule: the first matching rule's version (under the label asked for) or another
    # label's version; None when none matches or the served label is not in the snapshot.
    index = match_rule(rules, context)
    if index is None:
        return None
    serve = rules[index]["serve"]
    if "version" in serve:
        v: SnapshotVersion = serve["version"]
        return Resolution(name, v.version, v.sha, label, v.content, label_rule=index)
    sha = prompt.labels.get(serve["label"])
    other = None if sha is None else prompt.versions.get(sha)
    if other is None:
        return None
    return Resolution(name, other.version, other.sha, serve["label"], other.content, label_rule=index)


def _targeted(
    name: str,
    prompt: SnapshotPrompt,
    label: str,
    baseline: SnapshotVersion,
    rollout: SnapshotRollout,
    unit_key: Optional[str],
    context: Optional[Mapping[str, Any]],
) -> Resolution:
    # As core's targeted(): a rule's label (the baseline when the snapshot lacks it), the candidate arm of
    # a split, a copy for the candidate arm of a shadow, else the baseline.
    out = decide_targeting(rollout.salt, rollout.ramp, rollout.rules, rollout.killed, unit_key, context)
    if out.label is not None:
        sha = prompt.labels.get(out.label)
        other = None if sha is None else prompt.versions.get(sha)
        if other is not None:
            return Resolution(name, other.version, other.sha, out.label, other.content, "base", rollout.id, None, out.rule)
    c = rollout.candidate
    if out.arm == "candidate" and rollout.mode == "split":
        return Resolution(name, c.version, c.sha, label, c.content, "candidate", rollout.id, None, out.rule)
    shadow = ShadowTarget(rollout.id, c.version, c.sha, c.content) if out.arm == "candidate" else None
    v = baseline
    return Resolution(name, v.version, v.sha, label, v.content, "baseline", rollout.id, shadow, out.rule)


def resolve_from_snapshot(
    snapshot: Snapshot,
    name_or_ref: str,
    label: Optional[str] = None,
    sha: Optional[str] = None,
    unit_key: Optional[str] = None,
    context: Optional[Mapping[str, Any]] = None,
) -> Optional[Resolution]:
    """Resolves ``name`` (or ``name@ref``) without I/O; None when the snapshot lacks it. ``unit_key`` picks
    the arm of a label's rollout; pins by version or sha ignore rollouts. Raises only on a malformed ref
    (``invalid_ref``) or an ambiguous sha prefix (``ambiguous_ref``)."""
    at = name_or_ref.find("@")
    name = name_or_ref if at == -1 else name_or_ref[:at]
    prompt = snapshot.prompts.get(name)
    if prompt is None:
        return None
    if at != -1 or sha is not None:
        ref = parse_ref(name_or_ref[at + 1 :] if at != -1 else (sha or ""))
        if ref["kind"] == "label":
            return _by_label(name, prompt, ref["label"], unit_key, context)
        if ref["kind"] == "version":
            matches = [v for v in prompt.versions.values() if v.version == ref["version"]]
        else:
            matches = [v for v in prompt.versions.values() if v.sha.startswith(ref["prefix"])]
        if len(matches) > 1:
            raise PromptopsError(
                "conflict", "ambiguous_ref", f"'{name_or_ref}' matches several versions", fix="use more characters of the sha"
            )
        if not matches:
            return None
        found = matches[0]
        return Resolution(name, found.version, found.sha, None, found.content)
    return _by_label(name, prompt, DEFAULT_LABEL if label is None else label, unit_key, context)


def _is_safe_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -_MAX_SAFE <= value <= _MAX_SAFE
    return isinstance(value, float) and value.is_integer() and -_MAX_SAFE <= value <= _MAX_SAFE


def _looks_like_content(value: Any) -> bool:
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        return False
    if not all(isinstance(value.get(key), dict) for key in ("config", "variables", "slots")):
        return False
    if value.get("type") == "text":
        return isinstance(value.get("template"), str)
    messages = value.get("messages")
    return (
        value.get("type") == "chat"
        and isinstance(messages, list)
        and all(isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in messages)
    )


def hashes_to(content: Any, sha: str) -> bool:
    """Whether ``content`` is the content whose sha is ``sha``. The server sends content in canonical key
    order and ``json.loads`` keeps it, so one C-speed ``json.dumps`` usually reproduces the hashed text;
    anything else (another key order, numbers Python writes differently) takes RFC 8785."""
    try:
        text = json.dumps(content, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        if hashlib.sha256(text.encode("utf-8")).hexdigest() == sha:
            return True
    except (ValueError, UnicodeEncodeError, TypeError):
        pass
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest() == sha


def ingest_version(
    name: str, sha: Any, version: Any, content: Any, what: str, known: Optional[SnapshotVersion] = None
) -> SnapshotVersion:
    """A version received from outside, checked: its content hashes to its sha and names the prompt it is
    filed under. A version already held under the same sha is reused without hashing again."""
    if not isinstance(sha, str) or SHA_PATTERN.match(sha) is None:
        raise PromptopsError("invalid", "invalid_snapshot", f"{what}: '{name}' has a version whose sha is not 64 hex characters")
    if not _is_safe_integer(version) or version < 0:
        raise PromptopsError("invalid", "invalid_snapshot", f"{what}: '{name}' {short_sha(sha)} has no valid version number")
    version = int(version)
    if known is not None and known.sha == sha:
        return known if known.version == version else SnapshotVersion(version, known.sha, known.content)
    if not _looks_like_content(content):
        raise PromptopsError("invalid", "invalid_snapshot", f"{what}: '{name}' {short_sha(sha)} has no valid prompt content")
    if content["name"] != name:
        raise PromptopsError(
            "invalid",
            "sha_mismatch",
            f"{what}: content filed under '{name}' is named '{content['name']}'",
            fix="the data was altered or mixed up; delete it (a cache file is rewritten from the server)",
        )
    if not hashes_to(content, sha):
        raise PromptopsError(
            "invalid",
            "sha_mismatch",
            f"{what}: the content of '{name}' does not hash to its sha {short_sha(sha)}",
            fix="the data was altered or truncated; delete it (a cache file is rewritten from the server)",
        )
    return SnapshotVersion(version, sha, content)


def validate_snapshot(data: Any, what: str, previous: Optional[Snapshot] = None) -> Snapshot:
    """Checks a snapshot (from the server or a cache file) and returns it as records. ``previous`` lends
    versions already verified, so a periodic re-check hashes only what is new."""
    if not isinstance(data, dict) or not isinstance(data.get("project"), str) or not isinstance(data.get("prompts"), dict):
        raise PromptopsError("invalid", "invalid_snapshot", f"{what}: not a snapshot ({{ project, cursor, prompts }})")
    cursor: Any = data.get("cursor")
    if not _is_safe_integer(cursor) or cursor < 0:
        raise PromptopsError("invalid", "invalid_snapshot", f"{what}: cursor must be a non-negative integer")
    prompts: Dict[str, SnapshotPrompt] = {}
    for name, raw in data["prompts"].items():
        if not isinstance(raw, dict) or not isinstance(raw.get("labels"), dict) or not isinstance(raw.get("versions"), dict):
            raise PromptopsError("invalid", "invalid_snapshot", f"{what}: prompt '{name}' needs labels and versions")
        before = None if previous is None else previous.prompts.get(name)
        versions: Dict[str, SnapshotVersion] = {}
        for sha, v in raw["versions"].items():
            if not isinstance(v, dict) or v.get("sha") != sha:
                raise PromptopsError(
                    "invalid", "sha_mismatch", f"{what}: '{name}' files a version under {short_sha(sha)} that is not its sha"
                )
            known = None if before is None else before.versions.get(sha)
            versions[sha] = ingest_version(name, sha, v.get("version"), v.get("content"), what, known)
        labels: Dict[str, str] = {}
        for label, sha in raw["labels"].items():
            if not isinstance(sha, str) or sha not in versions:
                raise PromptopsError(
                    "invalid", "invalid_snapshot", f"{what}: label '{name}@{label}' points at a version the snapshot lacks"
                )
            labels[label] = sha
        rollouts = _NO_ROLLOUTS
        raw_rollouts = raw.get("rollouts")
        if raw_rollouts is not None:
            if not isinstance(raw_rollouts, dict):
                raise PromptopsError("invalid", "invalid_snapshot", f"{what}: prompt '{name}' has rollouts that are not an object")
            rollouts = {label: ingest_rollout(name, r, what) for label, r in raw_rollouts.items()}
        label_rules = _NO_LABEL_RULES
        raw_label_rules = raw.get("labelRules")
        if raw_label_rules is not None:
            if not isinstance(raw_label_rules, dict):
                raise PromptopsError("invalid", "invalid_snapshot", f"{what}: prompt '{name}' has labelRules that are not an object")
            label_rules = {label: ingest_label_rules(name, label, r, what) for label, r in raw_label_rules.items()}
        overrides = _NO_OVERRIDES
        raw_overrides = raw.get("overrides")
        if raw_overrides is not None:
            if not isinstance(raw_overrides, dict):
                raise PromptopsError("invalid", "invalid_snapshot", f"{what}: prompt '{name}' has overrides that are not an object")
            overrides = {tenant: ingest_override(name, tenant, o, what) for tenant, o in raw_overrides.items()}
        prompts[name] = SnapshotPrompt(labels, versions, rollouts, label_rules, overrides)
    return Snapshot(data["project"], int(cursor), prompts)


def ingest_override(name: str, tenant: Any, raw: Any, what: str) -> SnapshotOverride:
    """A tenant's override received from outside, verified like a version: the tenant id is one the
    registry accepts, the override hashes to its sha, a pinned base's content to the base's sha."""
    fields = raw if isinstance(raw, dict) else {}
    label, sha, base = fields.get("label"), fields.get("sha"), fields.get("base")
    if (
        not isinstance(tenant, str)
        or TENANT_PATTERN.match(tenant) is None
        or not isinstance(label, str)
        or not isinstance(sha, str)
        or not _is_safe_integer(fields.get("version"))
        or not (base is None or isinstance(base, dict))
    ):
        raise PromptopsError("invalid", "invalid_snapshot", f"{what}: '{name}' has a malformed override for tenant {tenant!r}")
    try:
        override = parse_override(fields.get("override"))
    except PromptopsError as error:
        raise PromptopsError("invalid", "invalid_snapshot", f"{what}: tenant '{tenant}''s override of '{name}': {error.message}") from None
    if override_sha(override) != sha:
        raise PromptopsError(
            "invalid",
            "sha_mismatch",
            f"{what}: tenant '{tenant}''s override of '{name}' does not hash to its sha {short_sha(sha)}",
            fix="the data was altered or truncated; delete it (a cache file is rewritten from the server)",
        )
    pinned = None if base is None else ingest_version(name, base.get("sha"), base.get("version"), base.get("content"), what)
    return SnapshotOverride(int(fields["version"]), sha, label, override, pinned)


def _override_json(o: SnapshotOverride) -> Dict[str, Any]:
    b = o.base
    base = None if b is None else {"version": b.version, "sha": b.sha, "content": b.content}
    return {"version": o.version, "sha": o.sha, "label": o.label, "override": o.override, "base": base}


class TenantResolution(NamedTuple):
    """What a tenant is served: the effective content and sha, the base sha and the override sha (None
    when no override of the tenant applies), and the base's version number."""

    content: Dict[str, Any]
    sha: str
    base_sha: str
    override_sha: Optional[str]
    version: int


def resolve_tenant(snapshot: Snapshot, resolution: Any, tenant: str) -> TenantResolution:
    """Applies ``tenant``'s override to a label's resolution (a Resolution or ResolvedPrompt: its name,
    label, version, sha and content; core's ``resolveTenant``). Only that tenant's
    own entry is read (a dict lookup: a tenant named like a method is just a key); a pin (label None) or
    another label gets none. An override that no longer fits its base serves the shared base."""
    plain = TenantResolution(resolution.content, resolution.sha, resolution.sha, None, resolution.version)
    prompt = snapshot.prompts.get(resolution.name)
    entry = None if prompt is None else prompt.overrides.get(tenant)
    if entry is None or resolution.label is None or entry.label != resolution.label:
        return plain
    base = entry.base if entry.base is not None else SnapshotVersion(resolution.version, resolution.sha, resolution.content)
    try:
        effective = effective_prompt(base.content, entry.override)
    except PromptopsError:
        return plain
    return TenantResolution(effective["content"], effective["sha"], base.sha, entry.sha, base.version)


def ingest_rollout(name: str, raw: Any, what: str) -> SnapshotRollout:
    """A rollout received from outside, its candidate verified like any version."""
    fields = raw if isinstance(raw, dict) else {}
    ramp = fields.get("ramp")
    if (
        not isinstance(fields.get("id"), str)
        or not isinstance(fields.get("salt"), str)
        or fields.get("mode") not in ("shadow", "split")
        or fields.get("state") not in ("running", "paused")
        or isinstance(ramp, bool)
        or not isinstance(ramp, (int, float))
        or not 0 <= ramp <= 100
        or not isinstance(fields.get("candidate"), dict)
    ):
        raise PromptopsError("invalid", "invalid_snapshot", f"{what}: '{name}' has a malformed rollout")
    c = fields["candidate"]
    # Always hashed: a rollout event carries its candidate's content, which must be what its sha says.
    candidate = ingest_version(name, c.get("sha"), c.get("version"), c.get("content"), what)
    rules, killed = fields.get("rules"), fields.get("killed", False)
    if not isinstance(killed, bool) or not (rules is None or _rules_shape(rules)):
        raise PromptopsError("invalid", "invalid_snapshot", f"{what}: '{name}' has malformed targeting rules")
    return SnapshotRollout(fields["id"], fields["salt"], fields["mode"], fields["state"], ramp, candidate, rules, killed)


def ingest_label_rules(name: str, label: str, raw: Any, what: str) -> List[Dict[str, Any]]:
    """A label's rules received from outside: their shape checked, a served version verified by its sha."""
    if not _rules_shape(raw):
        raise PromptopsError("invalid", "invalid_snapshot", f"{what}: the rules on '{name}@{label}' are malformed")
    rules: List[Dict[str, Any]] = []
    for rule in raw:
        serve = rule["serve"]
        if "version" in serve and isinstance(serve["version"], dict):
            v = serve["version"]
            version = ingest_version(name, v.get("sha"), v.get("version"), v.get("content"), what)
            rules.append({**rule, "serve": {"version": version}})
        elif isinstance(serve.get("label"), str):
            rules.append(rule)
        else:
            raise PromptopsError("invalid", "invalid_snapshot", f"{what}: a rule on '{name}@{label}' serves neither a version nor a label")
    return rules


def _label_rules_json(rules: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    out = []
    for rule in rules:
        v = rule["serve"].get("version")
        serve = rule["serve"] if v is None else {"version": {"version": v.version, "sha": v.sha, "content": v.content}}
        out.append({**rule, "serve": serve})
    return out


def _rules_shape(rules: Any) -> bool:
    """The shape decide_targeting reads (the server checked the rest when they were set)."""
    if not isinstance(rules, list):
        return False
    for rule in rules:
        serve = rule.get("serve") if isinstance(rule, dict) else None
        when = rule.get("when") if isinstance(rule, dict) else None
        if not isinstance(serve, dict) or len(serve) != 1 or not isinstance(when, list):
            return False
        if not all(
            isinstance(c, dict) and isinstance(c.get("attribute"), str) and isinstance(c.get("values"), list) for c in when
        ):
            return False
    return True


def snapshot_to_json(snapshot: Snapshot) -> Dict[str, Any]:
    """The wire shape of a snapshot (for the cache file)."""
    return {
        "project": snapshot.project,
        "cursor": snapshot.cursor,
        "prompts": {
            name: {
                "labels": dict(prompt.labels),
                "versions": {
                    sha: {"version": v.version, "sha": v.sha, "content": v.content} for sha, v in prompt.versions.items()
                },
                **(
                    {"rollouts": {label: _rollout_json(r) for label, r in prompt.rollouts.items()}}
                    if prompt.rollouts
                    else {}
                ),
                **(
                    {"labelRules": {label: _label_rules_json(r) for label, r in prompt.label_rules.items()}}
                    if prompt.label_rules
                    else {}
                ),
                **({"overrides": {t: _override_json(o) for t, o in prompt.overrides.items()}} if prompt.overrides else {}),
            }
            for name, prompt in snapshot.prompts.items()
        },
    }


def _rollout_json(r: SnapshotRollout) -> Dict[str, Any]:
    c = r.candidate
    candidate = {"version": c.version, "sha": c.sha, "content": c.content}
    extra: Dict[str, Any] = {}
    if r.rules is not None:
        extra["rules"] = r.rules
    if r.killed:
        extra["killed"] = True
    return {"id": r.id, "salt": r.salt, "mode": r.mode, "state": r.state, "ramp": r.ramp, "candidate": candidate, **extra}


class FeedEvent(NamedTuple):
    """A change-feed event as the client uses it; types it does not know only advance the cursor."""

    type: str
    seq: int
    name: str = ""
    label: str = ""
    sha: Optional[str] = None
    version: Optional[int] = None
    kind: str = "unknown"
    content: Any = None
    has_content: bool = False
    rollout: Any = None
    """A rollout event's ``rollout`` as sent (None: the label has no active rollout any more)."""
    rules: Any = None
    """A label_rules event's ``rules`` as sent (None: the label has none any more)."""
    tenant: str = ""
    override: Any = None
    """An override event's tenant and current override as sent (None: removed)."""


def parse_feed_event(data: Any) -> FeedEvent:
    """Checks one event's shape; ``invalid_event`` when it is malformed."""
    if not isinstance(data, dict) or not _is_safe_integer(data.get("seq")) or data["seq"] < 1:
        try:
            shown = js_json(data)[:200]
        except TypeError:
            shown = str(data)[:200]
        raise PromptopsError("invalid", "invalid_event", f"change event without a valid seq: {shown}")
    seq = int(data["seq"])
    if data.get("type") == "rollout":
        name, label, rollout = data.get("name"), data.get("label"), data.get("rollout")
        if not isinstance(name, str) or not isinstance(label, str) or not (rollout is None or isinstance(rollout, dict)):
            raise PromptopsError("invalid", "invalid_event", f"rollout event {seq} is malformed")
        return FeedEvent("rollout", seq, name, label, rollout=rollout)
    if data.get("type") == "label_rules":
        name, label, rules = data.get("name"), data.get("label"), data.get("rules")
        if not isinstance(name, str) or not isinstance(label, str) or not (rules is None or isinstance(rules, list)):
            raise PromptopsError("invalid", "invalid_event", f"label_rules event {seq} is malformed")
        return FeedEvent("label_rules", seq, name, label, rules=rules)
    if data.get("type") == "override":
        name, tenant, override = data.get("name"), data.get("tenant"), data.get("override")
        if not isinstance(name, str) or not isinstance(tenant, str) or not (override is None or isinstance(override, dict)):
            raise PromptopsError("invalid", "invalid_event", f"override event {seq} is malformed")
        return FeedEvent("override", seq, name, tenant=tenant, override=override)
    if data.get("type") != "label":
        return FeedEvent("other", seq)
    name, label, sha, version, kind = (data.get(k) for k in ("name", "label", "sha", "version", "kind"))
    version = None if version is None else int(version) if _is_safe_integer(version) else version
    if (
        not isinstance(name, str)
        or not isinstance(label, str)
        or not (sha is None or (isinstance(sha, str) and SHA_PATTERN.match(sha) is not None))
        or not (version is None or _is_safe_integer(version))
    ):
        raise PromptopsError("invalid", "invalid_event", f"label event {seq} is malformed")
    return FeedEvent(
        "label",
        seq,
        name,
        label,
        sha,
        version,
        kind if isinstance(kind, str) else "unknown",
        data.get("content"),
        "content" in data,
    )


class LabelChange(NamedTuple):
    """One label that points elsewhere: ``sha`` None when the label was removed."""

    name: str
    label: str
    sha: Optional[str]
    previous_sha: Optional[str]
    version: Optional[int]


def known_version(snapshot: Snapshot, name: str, sha: str) -> Optional[SnapshotVersion]:
    """The version an event needs, when the snapshot already holds it."""
    prompt = snapshot.prompts.get(name)
    return None if prompt is None else prompt.versions.get(sha)


def apply_label_event(
    snapshot: Snapshot, event: FeedEvent, version: Optional[SnapshotVersion]
) -> Tuple[Snapshot, Optional[LabelChange]]:
    """Applies one label event (idempotent: an event at or below the cursor changes nothing). Versions no
    label references any more are dropped."""
    if event.seq <= snapshot.cursor:
        return snapshot, None
    before = snapshot.prompts.get(event.name)
    previous_sha = None if before is None else before.labels.get(event.label)
    if event.sha is not None and (version is None or version.sha != event.sha):
        raise PromptopsError(
            "internal", "missing_version", f"label event {event.seq}: no content for '{event.name}' {short_sha(event.sha)}"
        )
    labels = dict(before.labels) if before is not None else {}
    if event.sha is None:
        labels.pop(event.label, None)
    else:
        labels[event.label] = event.sha
    versions: Dict[str, SnapshotVersion] = {}
    for sha in labels.values():
        if sha in versions:
            continue
        kept = None if before is None else before.versions.get(sha)
        following = kept if kept is not None else (version if sha == event.sha else None)
        if following is not None:
            versions[sha] = following
    prompts = dict(snapshot.prompts)
    prompts[event.name] = SnapshotPrompt(
        labels,
        versions,
        _NO_ROLLOUTS if before is None else before.rollouts,
        _NO_LABEL_RULES if before is None else before.label_rules,
        _NO_OVERRIDES if before is None else before.overrides,
    )
    change = (
        None
        if previous_sha == event.sha
        else LabelChange(event.name, event.label, event.sha, previous_sha, None if version is None else version.version)
    )
    return Snapshot(snapshot.project, event.seq, prompts), change


def apply_rollout_event(snapshot: Snapshot, event: FeedEvent, rollout: Optional[SnapshotRollout]) -> Snapshot:
    """Sets (or, with None, clears) one label's rollout; idempotent like a label event."""
    if event.seq <= snapshot.cursor:
        return snapshot
    before = snapshot.prompts.get(event.name)
    if before is None and rollout is None:
        return snapshot._replace(cursor=event.seq)
    rollouts = dict(before.rollouts) if before is not None else {}
    if rollout is None:
        rollouts.pop(event.label, None)
    else:
        rollouts[event.label] = rollout
    prompts = dict(snapshot.prompts)
    prompts[event.name] = SnapshotPrompt(
        {} if before is None else before.labels,
        {} if before is None else before.versions,
        rollouts or _NO_ROLLOUTS,
        _NO_LABEL_RULES if before is None else before.label_rules,
        _NO_OVERRIDES if before is None else before.overrides,
    )
    return Snapshot(snapshot.project, event.seq, prompts)


def _set_entry(snapshot: Snapshot, event: FeedEvent, field: str, key: str, value: Any, empty: Any) -> Snapshot:
    """The snapshot at the event, with one prompt's ``field`` (a dict) holding ``value`` at ``key``, or
    without ``key`` when ``value`` is None (``empty`` stands for a field with nothing left)."""
    before = snapshot.prompts.get(event.name)
    if before is None and value is None:
        return snapshot._replace(cursor=event.seq)
    base = before if before is not None else SnapshotPrompt({}, {})
    entries = dict(getattr(base, field))
    if value is None:
        entries.pop(key, None)
    else:
        entries[key] = value
    prompts = dict(snapshot.prompts)
    prompts[event.name] = base._replace(**{field: entries or empty})
    return Snapshot(snapshot.project, event.seq, prompts)


def apply_label_rules_event(snapshot: Snapshot, event: FeedEvent, rules: Optional[List[Dict[str, Any]]]) -> Snapshot:
    """Sets (or, with None, clears) one label's own rules (checked by ingest_label_rules); idempotent."""
    if event.seq <= snapshot.cursor:
        return snapshot
    return _set_entry(snapshot, event, "label_rules", event.label, rules, _NO_LABEL_RULES)


def apply_override_event(snapshot: Snapshot, event: FeedEvent, what: str) -> Snapshot:
    """Sets (or, with None, removes) one tenant's override, verified first; idempotent like a label event."""
    if event.seq <= snapshot.cursor:
        return snapshot
    override = None if event.override is None else ingest_override(event.name, event.tenant, event.override, what)
    return _set_entry(snapshot, event, "overrides", event.tenant, override, _NO_OVERRIDES)


def advance_cursor(snapshot: Snapshot, cursor: int) -> Snapshot:
    """Moves the cursor forward without other change."""
    return snapshot if cursor <= snapshot.cursor else snapshot._replace(cursor=cursor)


def diff_labels(before: Snapshot, after: Snapshot) -> List[LabelChange]:
    """Every label that points elsewhere (or exists on one side only) between two snapshots."""
    changes: List[LabelChange] = []
    names = list(before.prompts.keys()) + [name for name in after.prompts.keys() if name not in before.prompts]
    for name in names:
        a = before.prompts[name].labels if name in before.prompts else {}
        b = after.prompts.get(name)
        b_labels = b.labels if b is not None else {}
        labels = list(a.keys()) + [label for label in b_labels.keys() if label not in a]
        for label in labels:
            previous_sha = a.get(label)
            sha = b_labels.get(label)
            if previous_sha != sha:
                found = None if sha is None or b is None else b.versions.get(sha)
                changes.append(LabelChange(name, label, sha, previous_sha, None if found is None else found.version))
    return changes


class DecodedEvent(NamedTuple):
    event: FeedEvent
    version: Optional[SnapshotVersion]


# Decoded stream events by their exact text: every client in a process receives the same text for the
# same event, so parsing and verifying it is done once per process. A pure memo (value = f(key)).
_decoded: "OrderedDict[str, DecodedEvent]" = OrderedDict()
_DECODED_MAX = 64
_decoded_lock = threading.Lock()


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def decode_event_text(text: str, what: str) -> DecodedEvent:
    """Parses and verifies one event's JSON text (memoized per process)."""
    hit = _decoded.get(text)
    if hit is not None:
        return hit
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except ValueError:
        raise PromptopsError("invalid", "invalid_event", f"{what} sent an event that is not JSON: {text[:200]}") from None
    event = parse_feed_event(data)
    version = (
        ingest_version(event.name, event.sha, event.version, event.content, f"change event {event.seq}")
        if event.type == "label" and event.sha is not None and event.has_content
        else None
    )
    result = DecodedEvent(event, version)
    with _decoded_lock:
        if len(_decoded) >= _DECODED_MAX:
            _decoded.popitem(last=False)
        _decoded[text] = result
    return result


def snapshot_from_lockfile(lock: Mapping[str, Any], project: str = "") -> Snapshot:
    """A snapshot made of a lockfile's embedded contents."""
    prompts: Dict[str, SnapshotPrompt] = {}
    for name, entry in lock["prompts"].items():
        if entry.get("content") is None:
            continue
        version = SnapshotVersion(int(entry["version"]), entry["sha"], entry["content"])
        labels = {} if entry["label"] is None else {entry["label"]: entry["sha"]}
        prompts[name] = SnapshotPrompt(labels, {entry["sha"]: version})
    return Snapshot(project, 0, prompts)
