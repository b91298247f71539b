"""OpenTelemetry, when the app has it: ``opentelemetry-api`` is optional and imported once; without it
every helper here does nothing. Each traced call sets the promptops and GenAI attributes on the span
active when the call was made."""

from __future__ import annotations

import contextlib
import importlib
from typing import Any, Dict, Iterator, Optional

__all__ = ["active_span", "annotate_span", "span_attributes", "prompt_attributes", "set_prompt_attributes", "prompt_span", "otel_available"]

_api: Any = None
_loaded = False


def _load() -> Any:
    global _api, _loaded
    if not _loaded:
        _loaded = True
        try:
            _api = importlib.import_module("opentelemetry.trace")
        except Exception:  # noqa: BLE001 - absent or broken: tracing goes on without it
            _api = None
    return _api


def otel_available() -> bool:
    """Whether ``opentelemetry-api`` is importable."""
    return _load() is not None


def active_span() -> Any:
    """The active, valid span, or None (no API, no span, or a non-recording placeholder)."""
    api = _load()
    if api is None:
        return None
    try:
        span = api.get_current_span()
        context = span.get_span_context()
        return span if context is not None and context.is_valid else None
    except Exception:  # noqa: BLE001
        return None


def span_ids(span: Any) -> Optional[Dict[str, str]]:
    """``{"trace_id": 32 hex, "span_id": 16 hex}`` of a span."""
    try:
        context = span.get_span_context()
        return {"trace_id": format(context.trace_id, "032x"), "span_id": format(context.span_id, "016x")}
    except Exception:  # noqa: BLE001
        return None


def span_attributes(event: Dict[str, Any]) -> Dict[str, Any]:
    """The promptops and GenAI attributes of one traced call (the names the server's OTLP reader uses)."""
    attributes: Dict[str, Any] = {"promptops.event.id": event["id"]}

    def put(key: str, value: Any) -> None:
        if value is not None:
            attributes[key] = value

    prompt = event.get("prompt") or {}
    put("promptops.prompt.name", prompt.get("name"))
    put("promptops.prompt.sha", prompt.get("sha"))
    put("promptops.prompt.version", prompt.get("version"))
    put("promptops.label", event.get("label"))
    put("promptops.tenant", event.get("tenant"))
    rollout = event.get("rollout") or {}
    put("promptops.rollout.id", rollout.get("id"))
    put("promptops.rollout.arm", rollout.get("arm"))
    put("promptops.rollout.unit", rollout.get("unit"))
    put("promptops.release.sha", event.get("releaseSha"))
    for key, value in (event.get("attributes") or {}).items():
        if key.startswith("gen_ai."):
            put(key, value)
    if "gen_ai.request.model" not in attributes:
        put("gen_ai.request.model", event.get("model"))
    put("gen_ai.provider.name", event.get("provider"))
    usage = event.get("usage") or {}
    put("gen_ai.usage.input_tokens", usage.get("inputTokens"))
    put("gen_ai.usage.output_tokens", usage.get("outputTokens"))
    return attributes


def annotate_span(span: Any, attributes: Dict[str, Any]) -> None:
    """Sets ``attributes`` on ``span`` if it still records; never raises into the app."""
    if span is None:
        return
    try:
        if span.is_recording():
            span.set_attributes(attributes)
    except Exception:  # noqa: BLE001 - a misbehaving tracer must not break the traced call
        pass


def prompt_attributes(prompt: Any) -> Dict[str, Any]:
    """``promptops.prompt.name``, ``.sha``, ``.version`` (and label, release sha) of a resolved prompt."""
    attributes: Dict[str, Any] = {"promptops.prompt.name": prompt.name, "promptops.prompt.sha": prompt.sha}
    if getattr(prompt, "version", 0):
        attributes["promptops.prompt.version"] = prompt.version
    if getattr(prompt, "label", None) is not None:
        attributes["promptops.label"] = prompt.label
    if getattr(prompt, "release_sha", None) is not None:
        attributes["promptops.release.sha"] = prompt.release_sha
    return attributes


def set_prompt_attributes(prompt: Any, span: Any = None) -> bool:
    """Sets the prompt's attributes on ``span`` (default: the active span). False when there is no
    OpenTelemetry API or no recording span; never raises."""
    target = span if span is not None else active_span()
    if target is None:
        return False
    annotate_span(target, prompt_attributes(prompt))
    return True


@contextlib.contextmanager
def prompt_span(prompt: Any, name: Optional[str] = None, tracer: Any = None) -> Iterator[Any]:
    """``with prompt_span(prompt): ...`` runs the block in a new span (child of the active one) carrying
    the prompt's attributes, so every span and log inside it names the version served. Yields the span,
    or None without ``opentelemetry-api`` (the block runs all the same)."""
    api = _load()
    if api is None:
        yield None
        return
    chosen = tracer if tracer is not None else api.get_tracer("promptops")
    with chosen.start_as_current_span(name or f"promptops {prompt.name}", attributes=prompt_attributes(prompt)) as span:
        yield span
