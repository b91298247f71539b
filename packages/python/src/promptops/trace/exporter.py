"""Sends queued trace events to ``POST /api/v1/ingest`` in batches (by count, bytes and time) and scores to
``POST /api/v1/traces/:id/scores``, from one background thread, one delivery at a time, in order.

The queue is bounded: when full, new items are dropped and counted rather than growing memory or
blocking the app. Failures that may pass (network, 429, 5xx) are retried with capped, jittered backoff;
a Retry-After is honoured. Resending events is safe: the server is idempotent on the event id. At
interpreter exit (``atexit``) what is queued is sent without backoff sleeps, within ``flush_timeout_ms``.
"""

from __future__ import annotations

import atexit
import json
import random
import threading
import time
import weakref
from collections import deque
from email.utils import parsedate_to_datetime
from typing import Callable, Deque, Dict, List, NamedTuple, Optional, Union

from ..errors import PromptopsError, to_promptops_error
from ..http import Http, PostResult, http_error

__all__ = ["TraceExporter", "ExporterConfig", "TraceStats", "QueueItem", "retry_after_ms"]

ENVELOPE_BYTES = 13  # {"events":[ + ]}
_NOT_DELIVERED = {"ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"}


class ExporterConfig(NamedTuple):
    batch_size: int
    max_batch_bytes: int
    flush_interval_ms: float
    max_queue_size: int
    request_timeout_ms: float
    initial_delay_ms: float
    max_delay_ms: float
    max_attempts: float
    flush_timeout_ms: float
    flush_on_exit: bool


class QueueItem(NamedTuple):
    kind: str  # 'event' or 'score'
    key: str  # the event id, or the scored event's id
    json: str
    bytes: int


def retry_after_ms(header: Optional[str], now_ms: float, cap_ms: float = 300_000) -> Optional[float]:
    """Retry-After as delay-seconds or an HTTP-date, in ms, capped so a broken header cannot stall forever."""
    if header is None:
        return None
    text = header.strip()
    try:
        ms = float(text) * 1000 if text.replace(".", "", 1).isdigit() else parsedate_to_datetime(text).timestamp() * 1000 - now_ms
    except (TypeError, ValueError, IndexError):
        return None
    return min(cap_ms, max(0.0, ms))


def _never_delivered(error: PromptopsError) -> bool:
    """Socket errors that prove the request never reached the server: safe to resend a score."""
    return error.code == "server_unreachable" and str((error.details or {}).get("cause")) in _NOT_DELIVERED


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _success(result: PostResult) -> bool:
    return 200 <= result.status < 300


class _Retry(NamedTuple):
    counts: bool
    delay_ms: Optional[float] = None


Outcome = Union[str, _Retry]  # 'done' or a retry

TraceStats = Dict[str, int]
"""``{queued, sent, dropped, rejected, retries}``."""

_exporters: "weakref.WeakSet[TraceExporter]" = weakref.WeakSet()
_hooked = False
_hook_lock = threading.Lock()


def _on_exit() -> None:
    for exporter in list(_exporters):
        try:
            exporter.on_exit()
        except Exception:  # noqa: BLE001 - one exporter's failure must not stop the others
            pass


def _register(exporter: "TraceExporter") -> None:
    global _hooked
    with _hook_lock:
        _exporters.add(exporter)
        if not _hooked:
            atexit.register(_on_exit)
            _hooked = True


class TraceExporter:
    def __init__(self, http: Http, config: ExporterConfig, report: Callable[[PromptopsError], None]) -> None:
        self._http = http
        self._config = config
        self._report = report
        self._queue: Deque[QueueItem] = deque()
        self._cond = threading.Condition()
        self._waiting_bytes = 0
        self._in_flight = 0
        self._sent = 0
        self._dropped = 0
        self._rejected = 0
        self._retries = 0
        self._enqueued = 0
        self._settled = 0
        self._flushers = 0
        self._due_at: Optional[float] = None
        self._due = False
        self._state = "open"
        self._exiting = False
        self._wake = threading.Event()  # cuts backoff sleeps short: at stop and at exit
        self._thread: Optional[threading.Thread] = None
        self._last_reported = ""
        self._problem_lock = threading.Lock()
        if config.flush_on_exit:
            _register(self)

    # ---- the app's side (any thread, never blocks on the network) ----------------------------------

    def stats(self) -> TraceStats:
        with self._cond:
            return {
                "queued": len(self._queue) + self._in_flight,
                "sent": self._sent,
                "dropped": self._dropped,
                "rejected": self._rejected,
                "retries": self._retries,
            }

    def enqueue(self, item: QueueItem) -> bool:
        """Queues an item, or drops and counts it when the queue is full or the exporter closed."""
        problem: Optional[PromptopsError] = None
        with self._cond:
            if self._state == "closed":
                self._dropped += 1
                problem = PromptopsError("invalid", "client_closed", "trace() after close(): the event was dropped")
            elif len(self._queue) + self._in_flight >= self._config.max_queue_size:
                self._dropped += 1
                problem = PromptopsError(
                    "internal",
                    "trace_queue_full",
                    f"the trace queue is full ({self._config.max_queue_size} items); new events are dropped until it drains",
                    fix="check that the server is reachable and accepts the key; raise traces max_queue_size if bursts are normal",
                )
            else:
                self._queue.append(item)
                self._enqueued += 1
                if item.kind == "event":
                    self._waiting_bytes += item.bytes + 1
                if self._due_at is None:
                    self._due_at = time.monotonic() + self._config.flush_interval_ms / 1000
                self._start()
                self._cond.notify_all()
        if problem is not None:
            self._problem(problem)
            return False
        return True

    def refuse(self, error: PromptopsError) -> None:
        """Counts an item refused before it was queued (invalid input) and reports why."""
        with self._cond:
            self._rejected += 1
        self._problem(error)

    def flush(self, timeout_ms: Optional[float] = None) -> bool:
        """True once everything queued before the call is settled (sent, rejected or dropped); False after
        ``timeout_ms`` (the items stay queued and keep being retried). Never raises."""
        timeout = self._config.flush_timeout_ms if timeout_ms is None else timeout_ms
        deadline = time.monotonic() + timeout / 1000
        with self._cond:
            target = self._enqueued
            if self._settled >= target:
                return True
            self._flushers += 1
            self._cond.notify_all()
            try:
                while self._settled < target:
                    left = deadline - time.monotonic()
                    if left <= 0 or self._thread is None or not self._thread.is_alive():
                        return self._settled >= target
                    self._cond.wait(left)
                return True
            finally:
                self._flushers -= 1

    def close(self) -> None:
        """Flushes (up to flush_timeout_ms), then stops: what is still queued is dropped and counted."""
        with self._cond:
            if self._state != "open":
                return
            self._state = "closing"
            self._cond.notify_all()
        self.flush()
        with self._cond:
            self._state = "closed"
            self._cond.notify_all()
        self._wake.set()
        self._http.close()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=max(1.0, self._config.request_timeout_ms / 1000))
        with self._cond:
            left = len(self._queue)
            self._queue.clear()
            self._waiting_bytes = 0
            self._settle(left, "dropped")
        _exporters.discard(self)

    def on_exit(self) -> None:
        """The interpreter is exiting: send what is left now, without backoff sleeps."""
        with self._cond:
            if self._state == "closed" or not self._queue and self._in_flight == 0:
                return
            self._exiting = True
            self._cond.notify_all()
        self._wake.set()
        self.flush()

    # ---- the worker thread -------------------------------------------------------------------------

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="promptops-traces", daemon=True)
            self._thread.start()

    def _batch_ready(self) -> bool:
        return len(self._queue) >= self._config.batch_size or self._waiting_bytes >= self._config.max_batch_bytes

    def _eager(self) -> bool:
        return self._due or self._flushers > 0 or self._exiting or self._state == "closing"

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    while True:
                        if self._state == "closed":
                            return
                        if self._queue and (self._batch_ready() or self._eager()):
                            break
                        if not self._queue:
                            self._due = False
                            self._due_at = None
                            self._cond.wait()
                            continue
                        left = (self._due_at or 0) - time.monotonic()
                        if left <= 0:
                            self._due = True
                            continue
                        self._cond.wait(left)
                    items = self._take()
                self._deliver(items)
        except Exception as error:  # noqa: BLE001 - never expected; the items must not stay in flight forever
            with self._cond:
                self._settle(self._in_flight, "dropped")
            self._problem(to_promptops_error(error, "trace_export_failed"))

    def _take(self) -> List[QueueItem]:
        head = self._queue.popleft()
        if head.kind == "score":
            self._in_flight = 1
            return [head]
        batch = [head]
        size = ENVELOPE_BYTES + head.bytes
        while self._queue and self._queue[0].kind == "event":
            following = self._queue[0]
            if len(batch) >= self._config.batch_size or size + 1 + following.bytes > self._config.max_batch_bytes:
                break
            batch.append(self._queue.popleft())
            size += 1 + following.bytes
        self._waiting_bytes = max(0, self._waiting_bytes - (size - ENVELOPE_BYTES + 1))
        self._in_flight = len(batch)
        if not self._queue:
            self._due_at = None
        return batch

    def _settle(self, count: int, kind: str) -> None:
        if count == 0:
            return
        if kind == "sent":
            self._sent += count
        elif kind == "dropped":
            self._dropped += count
        else:
            self._rejected += count
        self._settled += count
        self._in_flight = max(0, self._in_flight - count)
        self._cond.notify_all()

    def _settle_locked(self, count: int, kind: str) -> None:
        with self._cond:
            self._settle(count, kind)

    def _deliver(self, items: List[QueueItem]) -> None:
        if items[0].kind == "score":
            self._deliver_score(items[0])
            return
        body = '{"events":[' + ",".join(item.json for item in items) + "]}"
        count = len(items)
        self._with_retries(
            f"POST /api/v1/ingest ({count} events)",
            lambda: self._http.post("/api/v1/ingest", body, self._config.request_timeout_ms),
            lambda result: self._ingest_outcome(result, count),
            lambda _error: True,  # events are idempotent on their id: any failure may be resent
            lambda kind: self._settle_locked(count, kind),
        )

    def _deliver_score(self, item: QueueItem) -> None:
        from urllib.parse import quote

        path = f"/api/v1/traces/{quote(item.key, safe='')}/scores"

        def outcome(result: PostResult) -> Outcome:
            if _success(result):
                self._settle_locked(1, "sent")
                return "done"
            # A score has no idempotency key: resend only what the server surely did not process.
            if result.status in (429, 503):
                return self._retry_after(result, result.status == 503)
            self._settle_locked(1, "dropped" if result.status >= 500 else "rejected")
            self._problem(http_error(result.status, result.text, f"POST {path}"))
            return "done"

        self._with_retries(
            f"POST {path}",
            lambda: self._http.post(path, item.json, self._config.request_timeout_ms),
            outcome,
            _never_delivered,
            lambda kind: self._settle_locked(1, kind),
        )

    def _ingest_outcome(self, result: PostResult, count: int) -> Outcome:
        if _retryable(result.status):
            self._problem(http_error(result.status, result.text, f"POST /api/v1/ingest ({count} events)"))
            return self._retry_after(result, result.status != 429)
        try:
            answer = json.loads(result.text)
        except ValueError:
            answer = None
        rejected_items = answer.get("rejected") if isinstance(answer, dict) and isinstance(answer.get("rejected"), list) else None
        if _success(result) or (result.status == 400 and rejected_items is not None):
            rejected = min(count, len(rejected_items or [])) if _success(result) else count
            self._settle_locked(count - rejected, "sent")
            self._settle_locked(rejected, "rejected")
            first = rejected_items[0] if rejected_items else None
            if isinstance(first, dict):
                issues = "; ".join(
                    f"{issue.get('path') or '(root)'} {issue.get('message', '')}"
                    for issue in first.get("issues") or []
                    if isinstance(issue, dict)
                )
                which = first.get("id") if first.get("id") is not None else f"#{first.get('index')}"
                self._problem(
                    PromptopsError(
                        "invalid",
                        "trace_rejected",
                        f"the server rejected {rejected} of {count} trace events; first: {which}: {issues}",
                        fix="see docs/api.md (Traces) for the event limits",
                    )
                )
            else:
                with self._problem_lock:
                    self._last_reported = ""  # delivered cleanly: the next problem is news
            return "done"
        # Any other 4xx (bad key, role, malformed, too large) would fail the same way again.
        self._settle_locked(count, "rejected")
        error = http_error(result.status, result.text, f"POST /api/v1/ingest ({count} events)")
        if result.status in (401, 403):
            error = PromptopsError(
                error.kind,
                error.code,
                error.message,
                fix="tracing needs a key with traces:write (editor); pass it as Client(..., traces={'api_key': ...})",
            )
        self._problem(error)
        return "done"

    def _retry_after(self, result: PostResult, counts: bool) -> _Retry:
        delay = retry_after_ms(result.retry_after, time.time() * 1000)
        if delay is None:
            return _Retry(counts)
        return _Retry(counts, delay + random.random() * min(1000.0, delay * 0.1))

    def _with_retries(
        self,
        what: str,
        send: Callable[[], PostResult],
        outcome: Callable[[PostResult], Outcome],
        resend_after_failure: Callable[[PromptopsError], bool],
        settle: Callable[[str], None],
    ) -> None:
        failures = 0
        attempt = 0
        while True:
            attempt += 1
            failure: Optional[PromptopsError] = None
            try:
                following: Outcome = outcome(send())
            except PromptopsError as error:
                if self._state == "closed":
                    settle("dropped")
                    return
                failure = error
                if not resend_after_failure(failure):
                    settle("dropped")
                    self._problem(
                        PromptopsError(
                            "internal",
                            "score_not_delivered",
                            f"{what}: {failure.message}",
                            fix="the score may or may not have been stored (scores have no idempotency key, so it is not resent)",
                        )
                    )
                    return
                following = _Retry(True)
            if following == "done":
                return
            assert isinstance(following, _Retry)
            if following.counts:
                failures += 1
            if failure is not None:
                self._problem(failure)
            if failures >= self._config.max_attempts or self._state == "closed" or (self._exiting and not following.counts):
                settle("dropped")
                self._problem(
                    PromptopsError(
                        "internal",
                        "trace_delivery_failed",
                        f"{what}: gave up after {attempt} attempts",
                        fix="check that the promptops server is reachable; traces retry max_attempts sets the attempts",
                    )
                )
                return
            with self._cond:
                self._retries += 1
            # While exiting no sleep may hold the interpreter: network errors and 5xx are retried at once.
            if not self._exiting:
                delay = following.delay_ms
                if delay is None:
                    bound = min(self._config.max_delay_ms, self._config.initial_delay_ms * 2 ** min(failures, 30))
                    delay = random.random() * bound + self._config.initial_delay_ms / 2
                self._wake.wait(delay / 1000)
            if self._state == "closed":
                settle("dropped")
                return

    def _problem(self, error: PromptopsError) -> None:
        """Reports through on_error, once until the problem changes (a long outage is one report)."""
        key = f"{error.code}:{error.message}"
        with self._problem_lock:
            if key == self._last_reported:
                return
            self._last_reported = key
        self._report(error)
