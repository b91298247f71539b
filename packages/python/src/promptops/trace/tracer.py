"""``client.trace()`` and ``client.score()``: input -> validated, serialized queue items, plus the
OpenTelemetry attributes of the active span."""

from __future__ import annotations

import json
import math
import time
from typing import Any, Callable, Dict, Mapping, Optional, Union

from ..errors import PromptopsError
from ..http import Http
from .event import build_event, invalid_input, new_event_id, score_issues, serialize_event
from .exporter import ENVELOPE_BYTES, ExporterConfig, QueueItem, TraceExporter, TraceStats
from .otel import active_span, annotate_span, span_attributes, span_ids

__all__ = ["Tracer", "TracerConfig", "trace_config", "TRACE_DEFAULTS"]

SERVER_MAX_EVENTS = 1000
SERVER_MAX_BYTES = 5 * 1024 * 1024
TRACE_DEFAULTS = {
    "batch_size": 100,
    "max_batch_bytes": SERVER_MAX_BYTES - 64 * 1024,
    "flush_interval_ms": 1000,
    "max_queue_size": 10_000,
    "initial_delay_ms": 200,
    "max_delay_ms": 30_000,
    "max_attempts": 10,
    "flush_timeout_ms": 10_000,
}


class TracerConfig:
    def __init__(self, enabled: bool, otel: bool, exporter: ExporterConfig) -> None:
        self.enabled = enabled
        self.otel = otel
        self.exporter = exporter


def _invalid(name: str, rule: str) -> PromptopsError:
    return PromptopsError(
        "invalid",
        "invalid_options",
        f"Client: traces['{name}'] must be {rule}",
        fix=f"pass a valid traces['{name}'] or omit it for the default",
    )


def _number(value: Any, name: str, default: float, low: float, high: float = math.inf) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or value < low or value > high:
        raise _invalid(name, f"a number >= {low}" if high == math.inf else f"a number between {low} and {high}")
    return value


def trace_config(options: Union[Mapping[str, Any], bool, None], request_timeout_ms: float) -> TracerConfig:
    """Validates the ``traces`` option (``invalid_options``, like the client's other options)."""
    o: Mapping[str, Any] = {"enabled": False} if options is False else ({} if options is None or options is True else options)
    known = {
        "enabled", "api_key", "batch_size", "max_batch_bytes", "flush_interval_ms", "max_queue_size", "request_timeout_ms",
        "retry", "flush_timeout_ms", "flush_on_exit", "otel",
    }
    for key in o:
        if key not in known:
            raise _invalid(key, f"one of the known options ({', '.join(sorted(known))})")
    api_key = o.get("api_key")
    if api_key is not None and (not isinstance(api_key, str) or api_key == ""):
        raise _invalid("api_key", "a non-empty string")
    retry = o.get("retry") or {}
    exporter = ExporterConfig(
        batch_size=int(_number(o.get("batch_size"), "batch_size", TRACE_DEFAULTS["batch_size"], 1, SERVER_MAX_EVENTS)),
        max_batch_bytes=int(_number(o.get("max_batch_bytes"), "max_batch_bytes", TRACE_DEFAULTS["max_batch_bytes"], 1024, SERVER_MAX_BYTES)),
        flush_interval_ms=_number(o.get("flush_interval_ms"), "flush_interval_ms", TRACE_DEFAULTS["flush_interval_ms"], 0),
        max_queue_size=int(_number(o.get("max_queue_size"), "max_queue_size", TRACE_DEFAULTS["max_queue_size"], 1)),
        request_timeout_ms=_number(o.get("request_timeout_ms"), "request_timeout_ms", request_timeout_ms, 1),
        initial_delay_ms=_number(retry.get("initial_delay_ms"), "retry.initial_delay_ms", TRACE_DEFAULTS["initial_delay_ms"], 0),
        max_delay_ms=_number(retry.get("max_delay_ms"), "retry.max_delay_ms", TRACE_DEFAULTS["max_delay_ms"], 0),
        max_attempts=_number(retry.get("max_attempts"), "retry.max_attempts", TRACE_DEFAULTS["max_attempts"], 1),
        flush_timeout_ms=_number(o.get("flush_timeout_ms"), "flush_timeout_ms", TRACE_DEFAULTS["flush_timeout_ms"], 0),
        flush_on_exit=o.get("flush_on_exit") is not False,
    )
    return TracerConfig(o.get("enabled") is not False, o.get("otel") is not False, exporter)


class Tracer:
    def __init__(self, make_http: Callable[[], Http], config: TracerConfig, report: Callable[[PromptopsError], None]) -> None:
        self._make_http = make_http
        self._config = config
        self._report = report
        self._exporter: Optional[TraceExporter] = None
        self._closed = False

    def trace(self, data: Mapping[str, Any]) -> str:
        return self.record(data, active_span() if self._config.otel else None)

    def record(self, data: Mapping[str, Any], span: Any) -> str:
        """Validates, annotates the span, and queues one event; returns its id. Never raises."""
        given = data.get("id")
        event_id: str = given if isinstance(given, str) else ""
        try:
            if event_id == "":
                event_id = new_event_id()
            merged = dict(data)
            if span is not None and merged.get("trace_id") is None:
                ids = span_ids(span)
                if ids is not None:
                    merged["trace_id"] = ids["trace_id"]
                    if merged.get("span_id") is None:
                        merged["span_id"] = ids["span_id"]
            built = build_event(merged, event_id, time.time() * 1000)
            if built.event is None:
                self._refuse(invalid_input("trace", built.issues))
                return event_id
            if self._config.otel:
                annotate_span(span, span_attributes(built.event))
            if not self._config.enabled:
                return event_id
            limit = self._config.exporter.max_batch_bytes - ENVELOPE_BYTES
            text = serialize_event(built.event, limit)
            if text is None:
                self._refuse(
                    PromptopsError("too_large", "invalid_trace", f"trace {event_id} dropped: larger than a batch ({limit} bytes)")
                )
                return event_id
            self._queue().enqueue(QueueItem("event", event_id, text, len(text.encode("utf-8"))))
        except Exception as error:  # noqa: BLE001 - nothing here may reach the app's LLM call
            self._refuse(PromptopsError("invalid", "invalid_trace", f"trace dropped: {error}"))
        return event_id

    def score(self, event_id: str, kind: str, value: Any, name: Optional[str] = None, comment: Optional[str] = None) -> None:
        try:
            issues = score_issues(event_id, kind, value, name, comment)
            if issues:
                self._refuse(invalid_input("score", issues))
                return
            if not self._config.enabled:
                return
            body: Dict[str, Any] = {"kind": kind, "value": value}
            if name is not None:
                body["name"] = name
            if comment is not None:
                body["comment"] = comment
            text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
            self._queue().enqueue(QueueItem("score", event_id, text, len(text.encode("utf-8"))))
        except Exception as error:  # noqa: BLE001
            self._refuse(PromptopsError("invalid", "invalid_score", f"score dropped: {error}"))

    def flush(self, timeout_ms: Optional[float] = None) -> bool:
        return True if self._exporter is None else self._exporter.flush(timeout_ms)

    def stats(self) -> TraceStats:
        if self._exporter is None:
            return {"queued": 0, "sent": 0, "dropped": 0, "rejected": 0, "retries": 0}
        return self._exporter.stats()

    def close(self) -> None:
        self._closed = True
        if self._exporter is not None:
            self._exporter.close()

    def _queue(self) -> TraceExporter:
        if self._exporter is None:
            self._exporter = TraceExporter(self._make_http(), self._config.exporter, self._report)
            if self._closed:
                self._exporter.close()  # traced after close(): dropped and counted
        return self._exporter

    def _refuse(self, error: PromptopsError) -> None:
        if self._config.enabled:
            self._queue().refuse(error)
        else:
            self._report(error)
