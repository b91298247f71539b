"""``client.trace(...)`` -> one ``POST /api/v1/ingest`` event, in the TypeScript SDK's wire format.

The checks mirror the server's schema, so a bad event is refused here (reported through ``on_error``)
instead of costing a request; free-form maps (variables, attributes) are left to the server. Output and
error text are truncated to the server's limits rather than losing the call.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from datetime import datetime
from typing import Any, Dict, List, Mapping, NamedTuple, Optional

from ..assignment import rollout_unit_hash
from ..errors import FieldIssue, PromptopsError
from ..refs import LABEL_PATTERN, PROMPT_NAME_PATTERN

__all__ = ["build_event", "score_issues", "invalid_input", "new_event_id", "serialize_event", "TRUNCATED"]

MAX_ID = 128
MAX_SHORT_TEXT = 200
MAX_OUTPUT = 128 * 1024
MAX_ERROR = 8 * 1024
MAX_COMMENT = 2000
_ID = re.compile(r"^[\x21-\x7e]+\Z")
_SHA = re.compile(r"^[0-9a-fA-F]{64}\Z")
_TRACE_ID = re.compile(r"^[0-9a-fA-F]{32}\Z")
_SPAN_ID = re.compile(r"^[0-9a-fA-F]{16}\Z")
_RELEASE_SHA = re.compile(r"^[0-9a-fA-F]{7,64}\Z")
TRUNCATED = "…[truncated by the promptops SDK]"


def new_event_id() -> str:
    """A random v4 UUID."""
    return str(uuid.uuid4())


def _js_len(text: str) -> int:
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(TRUNCATED)] + TRUNCATED


def _error_text(error: Any) -> Optional[str]:
    if error is None:
        return None
    if isinstance(error, BaseException):
        return f"{type(error).__name__}: {error}"
    return error if isinstance(error, str) else str(error)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_count(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return (isinstance(value, int) or value.is_integer()) and 0 <= value <= 1e9


def _is_short_text(value: Any) -> bool:
    return isinstance(value, str) and 0 < _js_len(value) <= MAX_SHORT_TEXT


def _js_round(value: float) -> int:
    return int(math.floor(value + 0.5))


def _field(prompt: Any, key: str) -> Any:
    if isinstance(prompt, Mapping):
        return prompt.get(key)
    return getattr(prompt, key, None)


class BuiltEvent(NamedTuple):
    event: Optional[Dict[str, Any]]
    issues: List[FieldIssue]


def build_event(data: Mapping[str, Any], event_id: str, now_ms: float) -> BuiltEvent:
    """Validates a trace input (snake_case keys, as ``client.trace`` takes them) and shapes the ingest
    event (camelCase, as the server reads it); never raises."""
    issues: List[FieldIssue] = []

    def bad(path: str, message: str) -> None:
        issues.append({"path": path, "message": message})

    if len(event_id) > MAX_ID or _ID.match(event_id) is None:
        bad("id", f"must be 1–{MAX_ID} printable ASCII characters")

    latency: Any = data.get("latency_ms")
    if latency is not None and not (_is_number(latency) and 0 <= latency <= 86_400_000):
        bad("latencyMs", "must be a number of milliseconds between 0 and 86,400,000")
    started: Any = data.get("started_at")
    started_ms: Optional[float] = None
    if isinstance(started, datetime):
        started_ms = started.timestamp() * 1000
    elif _is_number(started):
        started_ms = float(started)
    elif started is not None:
        bad("startedAt", "must be a datetime or epoch milliseconds")
    if started_ms is None:
        started_ms = now_ms - (latency if _is_number(latency) else 0)
    started_at = _js_round(started_ms) if math.isfinite(started_ms) else -1
    if started_at < 0 and not any(issue["path"] == "startedAt" for issue in issues):
        bad("startedAt", "must be a datetime or epoch milliseconds")

    event: Dict[str, Any] = {"id": event_id, "startedAt": started_at}
    prompt = data.get("prompt")
    if prompt is not None:
        name = _field(prompt, "name")
        if not isinstance(name, str) or PROMPT_NAME_PATTERN.match(name) is None or len(name) > MAX_SHORT_TEXT:
            bad("prompt.name", "is not a prompt name")
        sha = _field(prompt, "sha")
        if sha is not None and not (isinstance(sha, str) and _SHA.match(sha) is not None):
            bad("prompt.sha", "must be 64 hex characters")
        version = _field(prompt, "version")
        # Version 0 is an in-code default that was never pushed: the sha identifies it, the number does not.
        if version is not None and not (isinstance(version, int) and not isinstance(version, bool) and version >= 0):
            bad("prompt.version", "must be an integer")
        entry: Dict[str, Any] = {"name": name}
        if version is not None and version != 0:
            entry["version"] = version
        if isinstance(sha, str):
            entry["sha"] = sha.lower()
        event["prompt"] = entry
        label = _field(prompt, "label")
        if label is not None:
            if not isinstance(label, str) or LABEL_PATTERN.match(label) is None:
                bad("prompt.label", "is not a label name")
            event["label"] = label
        # No rollout arm is recorded for the base arm: it stays null unless a rollout served it.
        variant = _field(prompt, "variant")
        if isinstance(variant, str) and variant != "base":
            rollout_id = _field(prompt, "rollout_id")
            rollout: Dict[str, Any] = {"id": rollout_id, "arm": variant} if isinstance(rollout_id, str) else {"arm": variant}
            # The unit key the prompt was resolved for, sent only as its hash: the server counts units by it.
            unit_key = data.get("unit_key")
            if unit_key is not None and not isinstance(unit_key, str):
                bad("unitKey", "must be a string")
            elif isinstance(rollout_id, str) and unit_key:
                rollout["unit"] = rollout_unit_hash(rollout_id, unit_key)
            event["rollout"] = rollout
        release_sha = _field(prompt, "release_sha")
        if release_sha is not None:
            if not isinstance(release_sha, str) or _RELEASE_SHA.match(release_sha) is None:
                bad("prompt.releaseSha", "must be 7 to 64 hex characters")
            else:
                event["releaseSha"] = release_sha.lower()

    for key, wire, pattern, length in (
        ("trace_id", "traceId", _TRACE_ID, 32),
        ("span_id", "spanId", _SPAN_ID, 16),
        ("parent_span_id", "parentSpanId", _SPAN_ID, 16),
    ):
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, str) and pattern.match(value) is not None:
            event[wire] = value.lower()
        else:
            bad(wire, f"must be {length} hex characters")

    for key in ("tenant", "model", "provider"):
        value = data.get(key)
        if value is None:
            continue
        if _is_short_text(value):
            event[key] = value
        else:
            bad(key, f"must be 1–{MAX_SHORT_TEXT} characters")
    variables = data.get("variables")
    if variables is not None:
        if isinstance(variables, Mapping):
            event["variables"] = dict(variables)
        else:
            bad("variables", "must be an object")
    output = data.get("output")
    if output is not None:
        if isinstance(output, str):
            event["output"] = _truncate(output, MAX_OUTPUT)
        else:
            bad("output", "must be a string or None")
    if _is_number(latency):
        event["latencyMs"] = latency
    usage = data.get("usage")
    if usage is not None:
        counts: Dict[str, Any] = {}
        for snake, wire in (("input_tokens", "inputTokens"), ("output_tokens", "outputTokens")):
            value = _field(usage, snake)
            if value is None:
                value = _field(usage, wire)
            if value is None:
                continue
            if _is_count(value):
                counts[wire] = int(value)
            else:
                bad(f"usage.{wire}", "must be a whole number of tokens")
        if counts:
            event["usage"] = counts
    cost = data.get("cost")
    if cost is not None:
        if _is_number(cost) and 0 <= cost <= 1e6:
            event["cost"] = cost
        else:
            bad("cost", "must be a number between 0 and 1,000,000")
    error = _error_text(data.get("error"))
    if error is not None:
        event["error"] = _truncate(error, MAX_ERROR)
    status = data.get("status")
    if status is not None:
        if status in ("ok", "error"):
            event["status"] = status
        else:
            bad("status", "must be 'ok' or 'error'")
    attributes = data.get("attributes")
    if attributes is not None:
        if isinstance(attributes, Mapping):
            event["attributes"] = dict(attributes)
        else:
            bad("attributes", "must be a flat object")
    return BuiltEvent(None, issues) if issues else BuiltEvent(event, [])


def serialize_event(event: Dict[str, Any], limit: int) -> Optional[str]:
    """JSON for the queue. Variables that cannot be serialized (a cycle, an object, NaN) or that make the
    event larger than a batch are left out, noted in ``promptops.variables.dropped``, rather than losing
    the call. None when even that does not fit."""

    def attempt(candidate: Dict[str, Any]) -> Optional[str]:
        try:
            text = json.dumps(candidate, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            text.encode("utf-8")
        except (TypeError, ValueError, UnicodeEncodeError, RecursionError):
            return None
        return text if len(text.encode("utf-8")) <= limit else None

    first = attempt(event)
    if first is not None:
        return first
    rest = {key: value for key, value in event.items() if key not in ("variables", "attributes")}
    attributes = event.get("attributes") or {}
    second = attempt({**rest, "attributes": {**attributes, "promptops.variables.dropped": "not serializable, or too large"}})
    if second is not None:
        return second
    return attempt({**rest, "attributes": {"promptops.variables.dropped": "too large"}})


def score_issues(event_id: Any, kind: Any, value: Any, name: Any, comment: Any) -> List[FieldIssue]:
    """The score body, checked like the server does (empty when valid)."""
    issues: List[FieldIssue] = []
    if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_ID:
        issues.append({"path": "eventId", "message": "must be the id trace() returned"})
    if kind == "thumbs":
        if value not in ("up", "down") and not isinstance(value, bool):
            issues.append({"path": "value", "message": "must be 'up', 'down' or a boolean"})
    elif kind == "numeric":
        if not _is_number(value):
            issues.append({"path": "value", "message": "must be a finite number"})
    elif kind == "label":
        if not _is_short_text(value):
            issues.append({"path": "value", "message": f"must be 1–{MAX_SHORT_TEXT} characters"})
    else:
        issues.append({"path": "kind", "message": "must be 'thumbs', 'numeric' or 'label'"})
    if name is not None and not _is_short_text(name):
        issues.append({"path": "name", "message": f"must be 1–{MAX_SHORT_TEXT} characters"})
    if comment is not None and not (isinstance(comment, str) and _js_len(comment) <= MAX_COMMENT):
        issues.append({"path": "comment", "message": f"must be at most {MAX_COMMENT} characters"})
    return issues


def invalid_input(what: str, issues: List[FieldIssue]) -> PromptopsError:
    text = "; ".join(f"{issue['path'] or '(root)'} {issue['message']}" for issue in issues)
    return PromptopsError(
        "invalid",
        "invalid_score" if what == "score" else "invalid_trace",
        f"{what} dropped: {text}",
        issues=issues,
        fix=f"fix the {what} input; see the SDK README (Tracing)",
    )
