"""The client: a live, verified snapshot in memory, kept current by the change feed in a daemon thread,
with ``get`` answered from memory (the TypeScript SDK's client.ts, same behaviour)."""

from __future__ import annotations

import codecs
import http.client
import json
import os
import random
import socket
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Mapping, Optional, Union
from urllib.parse import quote

from .cache_file import read_cache_entry, write_cache_file
from .errors import PromptopsError, to_promptops_error
from .fallback import Fallback, build_fallback, defaults_from, read_lockfile
from .http import Http, Stream, normalize_url
from .lockfile import verify_lockfile
from .refs import format_ref, parse_name_ref
from .resolved import ResolvedPrompt
from .resolver import Resolver
from .snapshot import (
    DEFAULT_LABEL,
    FeedEvent,
    Snapshot,
    SnapshotVersion,
    advance_cursor,
    apply_label_event,
    apply_label_rules_event,
    apply_override_event,
    apply_rollout_event,
    decode_event_text,
    diff_labels,
    ingest_label_rules,
    ingest_rollout,
    ingest_version,
    known_version,
    parse_feed_event,
)
from .snapshot_source import SnapshotSource, scope_query
from .sse import SseMessage, SseParser
from .trace.otel import otel_available
from .trace.tracer import Tracer, trace_config

__all__ = ["Client", "ChangeEvent"]

DEFAULTS = {
    "snapshot_check_interval_ms": 30_000,
    "request_timeout_ms": 10_000,
    "initial_delay_ms": 250,
    "max_delay_ms": 10_000,
    "probe_interval_ms": 1000,
    "stream_idle_timeout_ms": 45_000,
    "poll_wait_seconds": 25,
}

ChangeEvent = Dict[str, Any]
"""``{name, label, sha, previous_sha, version, seq, kind}``; ``kind`` is the deployment kind, or
``snapshot`` when a snapshot check found the move."""

_NO_ANSWER = {"server_unreachable", "server_timeout", "stream_disconnected", "stream_idle"}


def _invalid_option(message: str, fix: str) -> PromptopsError:
    return PromptopsError("invalid", "invalid_options", f"Client: {message}", fix=fix)


def _non_negative(value: Any, name: str, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value < 0 or value == float("inf"):
        raise _invalid_option(f"{name} must be a non-negative number", f"pass {name} in milliseconds (or omit it for {default})")
    return float(value)


def _refused_by_server(problem: PromptopsError) -> bool:
    """The server refused this client on purpose (a 4xx, or its subscriber limit): another request's
    success then says nothing about the stream."""
    status = (problem.details or {}).get("status")
    if not isinstance(status, int):
        return False
    return 400 <= status < 500 or problem.code == "too_many_subscribers"


def _server_away(problem: PromptopsError) -> bool:
    """No answer, a timeout, a dropped or silent stream, or a gateway's 502/503/504: only then can a
    /healthz probe tell that the server is back."""
    status = (problem.details or {}).get("status")
    if not isinstance(status, int):
        return problem.code in _NO_ANSWER
    return status in (502, 503, 504) and problem.code == f"http_{status}"


def _change(change: Any, seq: int, kind: str) -> ChangeEvent:
    return {
        "name": change.name,
        "label": change.label,
        "sha": change.sha,
        "previous_sha": change.previous_sha,
        "version": change.version,
        "seq": seq,
        "kind": kind,
    }


def _fast_get(resolver: Resolver) -> Callable[..., ResolvedPrompt]:
    """``Client.get`` as a closure over the default label's result cache: one dict subscript on a hit,
    the resolver (and its lock) on a miss. Installed per instance, so ``client.get`` is a plain function
    call: a bound method costs more than the lookup itself."""
    hot = resolver.by_default
    resolve = resolver.get
    production = DEFAULT_LABEL

    def get(
        name: str,
        label: str = production,
        unit_key: Optional[str] = None,
        tenant: Optional[str] = None,
        sha: Optional[str] = None,
        context: Optional[Mapping[str, Any]] = None,
    ) -> ResolvedPrompt:
        if label is production and sha is None and not unit_key and context is None and tenant is None:
            try:
                return hot[name]
            except (KeyError, TypeError):
                pass
        return resolve(name, label, sha, unit_key, context, tenant)

    get.__doc__ = Client.get.__doc__
    return get


class Client:
    """A promptops client: ``ready()`` once, then ``get(name)`` from memory, on any thread.

    Options (times in milliseconds, as in the TypeScript SDK):

    - ``url``, ``api_key``: the server and a key (a viewer key is enough); default the environment's
      ``PROMPTOPS_URL`` and ``PROMPTOPS_API_KEY``
    - ``fallback_lockfile``: a path to ``promptops.lock`` (read at ``ready()``) or a parsed lockfile dict,
      verified like the CLI does (a tampered file is refused whole); served when the registry is unreachable
    - ``fallback_prompts``: in-code defaults ``{name: content}``, validated at once
    - ``cache_file``: the last snapshot and its ETag, on disk (written atomically, verified when read)
    - ``on_error``: ``callable(PromptopsError)``, for every problem the client works around
    - ``scope``: ``{"names": [...], "prefix": "..."}`` to hold only some prompts
    - ``transport``: ``'sse'`` (one stream) or ``'poll'`` (long-polling, for proxies that break streams)
    - ``snapshot_check_interval_ms`` (30000; 0: off), ``request_timeout_ms`` (10000),
      ``reconnect`` (``{"initial_delay_ms": 250, "max_delay_ms": 10000, "probe_interval_ms": 1000}``),
      ``stream_idle_timeout_ms`` (45000), ``poll_wait_seconds`` (25)
    - ``traces``: tracing options (``{"api_key", "batch_size", "flush_interval_ms", "max_queue_size",
      "retry", "flush_timeout_ms", "flush_on_exit", "otel", "enabled"}``), or False to record nothing
    """

    def __init__(
        self,
        url: Optional[str] = None,
        api_key: Optional[str] = None,
        *,
        fallback_lockfile: Union[str, "os.PathLike[str]", Mapping[str, Any], None] = None,
        fallback_prompts: Optional[Mapping[str, Any]] = None,
        cache_file: Union[str, "os.PathLike[str]", None] = None,
        on_error: Optional[Callable[[PromptopsError], None]] = None,
        scope: Optional[Mapping[str, Any]] = None,
        transport: str = "sse",
        snapshot_check_interval_ms: Optional[float] = None,
        request_timeout_ms: Optional[float] = None,
        reconnect: Optional[Mapping[str, Any]] = None,
        stream_idle_timeout_ms: Optional[float] = None,
        poll_wait_seconds: Optional[float] = None,
        traces: Union[Mapping[str, Any], bool, None] = None,
    ) -> None:
        base_url = normalize_url(url if url is not None else os.environ.get("PROMPTOPS_URL"))
        key = api_key if api_key is not None else os.environ.get("PROMPTOPS_API_KEY")
        if not isinstance(key, str) or key == "":
            raise _invalid_option("api_key is required", "pass the API key (e.g. os.environ['PROMPTOPS_API_KEY'])")
        client_key: str = key
        if transport not in ("sse", "poll"):
            raise _invalid_option(f"transport must be 'sse' or 'poll', got {transport!r}", "use 'sse' (default) or 'poll'")
        reconnect = reconnect or {}
        self._transport = transport
        self._check_interval_ms = _non_negative(snapshot_check_interval_ms, "snapshot_check_interval_ms", DEFAULTS["snapshot_check_interval_ms"])
        self._initial_delay_ms = _non_negative(reconnect.get("initial_delay_ms"), "reconnect.initial_delay_ms", DEFAULTS["initial_delay_ms"])
        self._max_delay_ms = _non_negative(reconnect.get("max_delay_ms"), "reconnect.max_delay_ms", DEFAULTS["max_delay_ms"])
        self._probe_interval_ms = _non_negative(reconnect.get("probe_interval_ms"), "reconnect.probe_interval_ms", DEFAULTS["probe_interval_ms"])
        self._idle_timeout_ms = _non_negative(stream_idle_timeout_ms, "stream_idle_timeout_ms", DEFAULTS["stream_idle_timeout_ms"])
        self._poll_wait_seconds = _non_negative(poll_wait_seconds, "poll_wait_seconds", DEFAULTS["poll_wait_seconds"])
        self._request_timeout_ms = _non_negative(request_timeout_ms, "request_timeout_ms", DEFAULTS["request_timeout_ms"])
        self._on_error = on_error
        self._cache_file = None if cache_file is None else os.fspath(cache_file)

        # Any request that succeeds (snapshot check, prefetch, trace export) shows the server answers again.
        self._wake_follow: Optional[threading.Event] = None
        self._http = Http(base_url, client_key, self._request_timeout_ms, self._wake)
        self._source = SnapshotSource(self._http, scope_query(scope))
        tracing = trace_config(traces, self._request_timeout_ms)
        self._tracing_otel = tracing.otel
        trace_key = traces.get("api_key") if isinstance(traces, Mapping) else None
        self._tracer = Tracer(
            lambda: Http(base_url, trace_key or client_key, tracing.exporter.request_timeout_ms, self._wake), tracing, self._notify
        )

        self._resolver = Resolver()
        setattr(self, "get", _fast_get(self._resolver))  # noqa: B010 - shadows the method: see _fast_get
        self._listeners: Dict[str, List[Callable[[Any], None]]] = {"change": [], "error": []}
        self._state = "idle"
        self._snapshot_from = "none"
        self._connected = False
        self._synced = False
        self._last_sync_at: Optional[datetime] = None
        self._last_error: Optional[PromptopsError] = None
        self._last_reported = ""
        self._report_lock = threading.Lock()
        self._ready_lock = threading.Lock()
        self._state_lock = threading.RLock()
        self._stop = threading.Event()
        self._nap: Optional[threading.Event] = None
        self._stream: Optional[Stream] = None
        self._threads: List[threading.Thread] = []
        self._cache_cond = threading.Condition()
        self._cache_dirty = False
        self._cache_writing = False
        self._cache_thread: Optional[threading.Thread] = None

        # In-code defaults and a lockfile given as a dict are usable at once; a path is read by ready().
        self._defaults = defaults_from(fallback_prompts)
        self._lockfile_path: Optional[str] = None
        lock = None
        if isinstance(fallback_lockfile, Mapping):
            lock = verify_lockfile(fallback_lockfile)
        elif fallback_lockfile is not None:
            self._lockfile_path = os.fspath(fallback_lockfile)
        self._fallback: Fallback = build_fallback(lock, self._defaults)
        self._resolver.set_fallback(self._fallback)
        self._resolver.outage = lambda: None if self._synced else (self._http.base_url, self._last_error)

    # ---- public API -----------------------------------------------------------------------------------

    def get(
        self,
        name: str,
        label: str = DEFAULT_LABEL,
        unit_key: Optional[str] = None,
        tenant: Optional[str] = None,
        sha: Optional[str] = None,
        context: Optional[Mapping[str, Any]] = None,
    ) -> ResolvedPrompt:
        """The version served for ``name`` (``name@production``, ``name@v17``, ``name@<sha prefix>`` also
        work): synchronous, from memory, no I/O, safe on any thread. ``label`` defaults to production;
        ``sha`` pins a version like ``name@<sha>``. ``unit_key`` (a user, session or tenant id) picks the
        arm when the label is under a rollout (sticky; none: the baseline); ``context`` (attributes such as
        ``tenant`` or ``appVersion``, and ``targetingKey`` as the unit key when none is given) feeds the
        rollout's targeting rules; ``tenant`` applies that tenant's own override (from the snapshot, or the
        lockfile when it served): the result's ``sha`` is then the effective sha, with ``base_sha``,
        ``override_sha`` and ``tenant``; a pin by sha or version, another label than the override's and
        in-code defaults serve the shared prompt. Raises ``prompt_not_found`` naming what is available."""
        # The instance's own `get` (_fast_get) shadows this one: the same lookup, without a bound method.
        return self._resolver.get(name, label, sha, unit_key, context, tenant)

    def ready(self, timeout: Optional[float] = None) -> "Client":
        """Reads the lockfile and the cache file, then loads the snapshot from the server (conditional on
        the cached ETag), then follows the change feed in a daemon thread. Returns once there is something
        to serve, reporting server problems through ``on_error``; raises ``nothing_to_serve`` only when
        there is nothing at all (a later call tries again). ``timeout`` (seconds) bounds the snapshot
        request. Idempotent."""
        with self._ready_lock:
            if self._state == "closed":
                raise PromptopsError("invalid", "client_closed", "ready() after close()", fix="create a new client")
            if self._state == "ready":
                return self
            if self._tracing_otel:
                otel_available()  # imported now, so the first traced call does not pay for it
            self._start(None if timeout is None else timeout * 1000)
        return self

    def prefetch(self, ref: str) -> ResolvedPrompt:
        """Fetches a pinned version the snapshot does not hold (``name@v12``), verifies it, and keeps it for
        the life of the client, so ``get`` of that pin works."""
        name, parsed = parse_name_ref(ref)
        path = f"/api/v1/prompts/{quote(name, safe='')}/versions/{quote(format_ref(parsed), safe='')}"
        record = self._http.json(path)
        record = record if isinstance(record, dict) else {}
        version = ingest_version(name, record.get("sha"), record.get("version"), record.get("content"), f"GET {path}")
        self._resolver.add_pin(name, version)
        label = parsed["label"] if parsed["kind"] == "label" else None
        return ResolvedPrompt(name, version.version, version.sha, label, "base", "snapshot", self._resolver.release_sha, version.content)

    def on(self, event: str, listener: Callable[[Any], None]) -> Callable[[], None]:
        """``'change'`` (a label moved: ``ChangeEvent``) or ``'error'`` (a ``PromptopsError``). Listeners run
        on the client's thread; returns the unsubscribe function."""
        if event not in self._listeners:
            raise PromptopsError("invalid", "invalid_options", f"on(): unknown event {event!r}", fix="use 'change' or 'error'")
        with self._state_lock:
            self._listeners[event] = self._listeners[event] + [listener]
        return lambda: self.off(event, listener)

    def off(self, event: str, listener: Callable[[Any], None]) -> None:
        with self._state_lock:
            self._listeners[event] = [item for item in self._listeners.get(event, []) if item is not listener]

    def status(self) -> Dict[str, Any]:
        """``{state, snapshot_from, connected, cursor, last_sync_at, last_error}``, for a health endpoint."""
        return {
            "state": self._state,
            "snapshot_from": self._snapshot_from,
            "connected": self._connected,
            "cursor": self._resolver.snapshot.cursor,
            "last_sync_at": self._last_sync_at,
            "last_error": self._last_error,
        }

    def trace(self, **event: Any) -> str:
        """Records one LLM call (queued, sent in batches by a background thread); returns its event id for
        ``score``. Fields: ``prompt`` (the ``ResolvedPrompt`` served), ``variables``, ``output``, ``model``,
        ``provider``, ``latency_ms``, ``usage`` ({input_tokens, output_tokens}), ``cost``, ``status``,
        ``error``, ``tenant``, ``attributes``, ``trace_id``, ``span_id``, ``parent_span_id``,
        ``started_at``, ``id``, ``unit_key`` (the key ``get`` resolved the prompt for; a rollout's trace carries
        only its hash, ``rollout.unit``). Never raises: invalid input is reported through ``on_error``."""
        return self._tracer.trace(event)

    def _record(self, event: Mapping[str, Any], span: Any) -> str:
        return self._tracer.record(event, span)

    def score(self, event_id: str, kind: str, value: Any, name: Optional[str] = None, comment: Optional[str] = None) -> None:
        """Queues a score for a traced call: ``kind`` ``'thumbs'`` (``'up'``/``'down'``/bool), ``'numeric'``
        or ``'label'``. Never raises."""
        self._tracer.score(event_id, kind, value, name, comment)

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Sends everything traced so far; True once all of it is settled, False after ``timeout`` seconds
        (default the traces' flush_timeout_ms)."""
        return self._tracer.flush(None if timeout is None else timeout * 1000)

    def trace_stats(self) -> Dict[str, int]:
        """``{queued, sent, dropped, rejected, retries}`` of the trace pipeline."""
        return self._tracer.stats()

    def close(self) -> None:
        """Sends the traces still queued (up to flush_timeout_ms), stops the background threads and cuts
        their requests, and writes the cache file. ``get`` keeps answering from the last state."""
        with self._ready_lock:
            was = self._state
            self._state = "closed"
        if was != "closed":
            self._connected = False
            self._stop.set()
            nap = self._nap
            if nap is not None:
                nap.set()
            stream = self._stream
            if stream is not None:
                stream.abort()
            self._http.close()
            for thread in self._threads:
                if thread is not threading.current_thread():
                    thread.join(timeout=max(1.0, self._request_timeout_ms / 1000))
            self._finish_cache_writes()
        self._tracer.close()

    def __enter__(self) -> "Client":
        return self.ready()

    def __exit__(self, *_: Any) -> None:
        self.close()

    # ---- start-up -------------------------------------------------------------------------------------

    def _start(self, timeout_ms: Optional[float]) -> None:
        self._state = "starting"
        if self._lockfile_path is not None:
            try:
                lock = read_lockfile(self._lockfile_path)
                self._fallback = build_fallback(lock, self._defaults, self._lockfile_path)
                self._resolver.set_fallback(self._fallback)
            except PromptopsError as error:
                self._report(error)
        if self._fallback.without_content:
            self._report(
                PromptopsError(
                    "invalid",
                    "lockfile_not_embedded",
                    f"the lockfile has no content for: {', '.join(self._fallback.without_content)}",
                    fix="generate it with `promptops lock --embed` so the client can serve those prompts without the server",
                )
            )
        server_error: Optional[PromptopsError] = None
        self._load_cache_file()  # first: with its ETag the server answers 304 when it is current
        try:
            self._sync_snapshot(timeout_ms)
        except Exception as error:  # noqa: BLE001
            if self._stop.is_set():
                return
            server_error = to_promptops_error(error)
            self._report(server_error, repeating=True)
        self._resolver.loaded = True
        if not self._resolver.has_content and server_error is not None:
            self._state = "idle"
            raise PromptopsError(
                "internal",
                "nothing_to_serve",
                f"{server_error.message}; and there is no cache file or fallback to serve instead",
                fix="start the server, or give the Client a fallback (a lockfile made with `promptops lock --embed`, or in-code prompts)",
                details={"cause": server_error.code},
            )
        if self._stop.is_set():
            return
        self._state = "ready"
        self._spawn(self._follow, "promptops-feed")
        if self._check_interval_ms > 0:
            self._spawn(self._check_loop, "promptops-snapshot-check")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _load_cache_file(self) -> None:
        if self._cache_file is None:
            return
        try:
            cached = read_cache_entry(self._cache_file, self._http.base_url)
            if cached is not None and not self._synced:
                self._resolver.set_snapshot(cached.snapshot)
                self._source.remember(cached.snapshot, cached.etag)
                self._snapshot_from = "cache"
        except PromptopsError as error:
            self._report(error)

    # ---- snapshot -------------------------------------------------------------------------------------

    def _sync_snapshot(self, timeout_ms: Optional[float] = None) -> None:
        """Fetches the whole snapshot and installs it (a change per label that moved); 304 keeps ours."""
        previous = self._resolver.snapshot
        snapshot = self._source.fetch(previous, timeout_ms)
        if self._stop.is_set():
            return
        with self._state_lock:
            current = self._resolver.snapshot
            self._synced = True
            self._snapshot_from = "server"
            self._last_sync_at = datetime.now(timezone.utc)
            if snapshot is previous or (current is not previous and current.cursor > snapshot.cursor):
                return
            changes = self._install(snapshot, current)
        self._emit_changes(changes)

    def _install(self, snapshot: Snapshot, previous: Snapshot) -> List[ChangeEvent]:
        """Under the state lock: replaces the snapshot; returns the label moves to announce."""
        self._resolver.set_snapshot(snapshot)
        self._persist()
        if not self._listeners["change"]:
            return []
        return [_change(change, snapshot.cursor, "snapshot") for change in diff_labels(previous, snapshot)]

    def _check_loop(self) -> None:
        while not self._stop.wait(self._check_interval_ms / 1000):
            self._check_snapshot()

    def _check_snapshot(self) -> None:
        """The safety net: re-fetch the snapshot and install it when its labels differ from ours and it is
        not behind us (an event we missed or misapplied), or when ours is not the server's yet."""
        if self._state != "ready":
            return
        try:
            held = self._resolver.snapshot
            snapshot = self._source.fetch(held)
            if self._stop.is_set():
                return
            changes: List[ChangeEvent] = []
            drift: Optional[PromptopsError] = None
            with self._state_lock:
                current = self._resolver.snapshot
                self._last_sync_at = datetime.now(timezone.utc)
                differs = snapshot.project != current.project or len(diff_labels(current, snapshot)) > 0
                if not self._synced or (differs and snapshot.cursor >= current.cursor):
                    if self._synced and snapshot.cursor == current.cursor:
                        drift = PromptopsError(
                            "internal",
                            "snapshot_drift",
                            f"the snapshot check found labels that differ at cursor {current.cursor}; replaced",
                        )
                    self._synced = True
                    self._snapshot_from = "server"
                    changes = self._install(snapshot, current)
                elif snapshot.cursor > current.cursor:
                    # Same labels, later cursor (audit entries that move no label): only the position moves.
                    self._commit(advance_cursor(current, snapshot.cursor), None)
            if drift is not None:
                self._report(drift)
            self._emit_changes(changes)
        except Exception as error:  # noqa: BLE001
            if not self._stop.is_set():
                self._report(to_promptops_error(error), repeating=True)

    # ---- following the change feed --------------------------------------------------------------------

    def _follow(self) -> None:
        """Until close(): (re)connects with full-jitter backoff, resuming after the cursor."""
        attempt = 0
        while not self._stop.is_set():
            connected_this_round = False
            refused = False
            away = False
            try:
                if not self._synced:
                    self._sync_snapshot()
                connected_this_round = self._stream_once() if self._transport == "sse" else self._poll_once()
                if self._transport == "sse":
                    self._connected = False  # the server ended the stream
            except Exception as error:  # noqa: BLE001
                self._connected = False
                if self._stop.is_set():
                    break
                problem = to_promptops_error(error)
                # Our cursor is past the server's newest change (another or a restored database): start over.
                if problem.code == "cursor_ahead":
                    self._synced = False
                refused = _refused_by_server(problem)
                away = _server_away(problem)
                self._report(problem, repeating=True)
            if self._stop.is_set():
                break
            if connected_this_round:
                attempt = 0
                with self._report_lock:
                    self._last_reported = ""  # the next outage is news again
                if self._transport == "poll":
                    continue
            bound = min(self._max_delay_ms, self._initial_delay_ms * 2 ** min(attempt, 30))
            self._backoff(random.random() * bound, not refused, away)
            attempt += 1

    def _wake(self) -> None:
        nap = self._wake_follow
        if nap is not None:
            nap.set()

    def _backoff(self, ms: float, wakeable: bool, away: bool) -> None:
        """Waits before the next connection attempt. After an outage (``wakeable``) the wait ends as soon as
        any other request succeeds; while the server is ``away``, ``GET /healthz`` is probed about once per
        probe interval (first at a random phase, so a fleet does not arrive in lockstep)."""
        nap = threading.Event()
        self._nap = nap
        if wakeable:
            self._wake_follow = nap
        try:
            if self._stop.is_set():
                return
            now = time.monotonic()
            deadline = now + ms / 1000
            interval = self._probe_interval_ms / 1000
            probing = wakeable and away and interval > 0 and ms > self._probe_interval_ms
            next_probe = now + random.random() * interval if probing else float("inf")
            while not nap.is_set() and not self._stop.is_set():
                now = time.monotonic()
                if now >= deadline:
                    return
                if now >= next_probe:
                    started = now
                    budget = min(self._request_timeout_ms, max(100.0, (deadline - now) * 1000))
                    if self._http.probe("/healthz", budget):
                        return
                    next_probe = started + interval
                    continue
                nap.wait(min(deadline, next_probe) - now)
        finally:
            self._wake_follow = None
            self._nap = None

    def _stream_once(self) -> bool:
        """One SSE connection, read to its end. Returns whether it got as far as the server's ``ready``."""
        cursor = self._resolver.snapshot.cursor
        stream = self._http.stream(
            f"/api/v1/stream?after={cursor}&catchup=snapshot{self._source.scope}",
            {"accept": "text/event-stream", "last-event-id": str(cursor)},
            self._request_timeout_ms,
            self._idle_timeout_ms,
        )
        self._stream = stream
        if self._stop.is_set():
            stream.close()
            return False
        queue: List[SseMessage] = []
        # The stream's `retry:` field is ignored: reconnection follows the client's own backoff.
        parser = SseParser(queue.append)
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        reached_ready = False
        last_activity = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    chunk = stream.read()
                except socket.timeout:
                    idle = round((time.monotonic() - last_activity) * 1000)
                    raise PromptopsError("internal", "stream_idle", f"the change stream was silent for {idle} ms; reconnecting") from None
                except (OSError, http.client.HTTPException, ValueError) as error:
                    if self._stop.is_set():
                        return reached_ready
                    raise PromptopsError(
                        "internal",
                        "stream_disconnected",
                        f"the change stream from {self._http.base_url} dropped: {error or type(error).__name__}; reconnecting",
                    ) from None
                if not chunk:
                    break
                last_activity = time.monotonic()
                parser.push(decoder.decode(chunk))
                while queue:
                    message = queue.pop(0)
                    if message.event == "ready":
                        reached_ready = True
                        self._on_stream_ready(message.data, cursor)
                    elif message.event == "resync":
                        self._synced = False  # far behind: the server ends the stream; reload, resume after it
                    else:
                        self._handle_event(message.data, "stream")
            if not self._stop.is_set():
                parser.push(decoder.decode(b"", True))
                parser.end()
            return reached_ready
        finally:
            self._stream = None
            stream.close()

    def _on_stream_ready(self, data: str, sent: int) -> None:
        self._connected = True
        self._last_sync_at = datetime.now(timezone.utc)
        try:
            cursor = json.loads(data).get("cursor")
        except (ValueError, AttributeError):
            cursor = None
        # The server is behind us: another database, or one restored from a backup. Start over from its snapshot.
        if isinstance(cursor, (int, float)) and not isinstance(cursor, bool) and cursor < sent:
            self._synced = False
            raise PromptopsError(
                "internal",
                "cursor_regressed",
                f"the server's change feed is at {cursor}, behind ours ({sent}); reloading the snapshot",
            )

    def _poll_once(self) -> bool:
        """One long-poll. True when the server answered (the next poll starts at once)."""
        cursor = self._resolver.snapshot.cursor
        wait = self._poll_wait_seconds
        wait_text = str(int(wait)) if float(wait).is_integer() else str(wait)
        path = f"/api/v1/changes?after={cursor}&wait={wait_text}{self._source.scope}"
        body = self._http.json(path, wait * 1000 + self._request_timeout_ms)
        self._connected = True
        self._last_sync_at = datetime.now(timezone.utc)
        body = body if isinstance(body, dict) else {}
        answered = body.get("cursor")
        if isinstance(answered, (int, float)) and not isinstance(answered, bool) and answered < cursor:
            self._synced = False  # see _on_stream_ready
            return True
        events = body.get("events")
        for event in events if isinstance(events, list) else []:
            self._handle_event(event, "poll")
        if isinstance(answered, int) and not isinstance(answered, bool):
            with self._state_lock:
                self._commit(advance_cursor(self._resolver.snapshot, answered), None)
        return True

    def _handle_event(self, raw: Any, origin: str) -> None:
        """Applies one event (JSON text from the stream, or an object from a long-poll). A failure
        propagates: the cursor has not moved, so the reconnect replays the event."""
        if isinstance(raw, str):
            event, version = decode_event_text(raw, f"the {origin}")
        else:
            event, version = parse_feed_event(raw), None
        snapshot = self._resolver.snapshot
        if event.seq <= snapshot.cursor:
            return  # a replay: already applied
        if event.type == "rollout":
            raw_rollout = event.rollout
            rollout = None if raw_rollout is None else ingest_rollout(event.name, raw_rollout, f"change event {event.seq}")
            with self._state_lock:
                self._commit(apply_rollout_event(self._resolver.snapshot, event, rollout), event.name)
            return
        if event.type == "label_rules":
            what = f"change event {event.seq}"
            rules = None if event.rules is None else ingest_label_rules(event.name, event.label, event.rules, what)
            with self._state_lock:
                self._commit(apply_label_rules_event(self._resolver.snapshot, event, rules), event.name)
            return
        if event.type == "override":
            with self._state_lock:
                applied = apply_override_event(self._resolver.snapshot, event, f"change event {event.seq}")
                self._commit(applied, event.name)
            return
        if event.type != "label":
            with self._state_lock:
                self._commit(advance_cursor(self._resolver.snapshot, event.seq), None)
            return
        if event.sha is not None and version is None:
            known = known_version(snapshot, event.name, event.sha)
            if known is not None or event.has_content:
                number = event.version if event.version is not None else (None if known is None else known.version)
                version = ingest_version(event.name, event.sha, number, event.content, f"change event {event.seq}", known)
            else:
                path = f"/api/v1/prompts/{quote(event.name, safe='')}/versions/{event.sha}"
                record = self._http.json(path)
                record = record if isinstance(record, dict) else {}
                version = ingest_version(event.name, event.sha, record.get("version"), record.get("content"), f"GET {path}")
        self._apply_label(event, version)

    def _apply_label(self, event: FeedEvent, version: Optional[SnapshotVersion]) -> None:
        with self._state_lock:
            snapshot, change = apply_label_event(self._resolver.snapshot, event, version)
            self._commit(snapshot, event.name)
        if change is not None:
            self._emit("change", _change(change, event.seq, event.kind))

    def _commit(self, snapshot: Snapshot, name: Optional[str]) -> None:
        """Under the state lock."""
        if snapshot is self._resolver.snapshot:
            return
        self._resolver.update_snapshot(snapshot, name)
        self._persist()

    # ---- cache file, events and errors ----------------------------------------------------------------

    def _persist(self) -> None:
        """Writes the snapshot to the cache file from a thread of its own; bursts coalesce into one write."""
        if self._cache_file is None or not self._synced:
            return
        with self._cache_cond:
            self._cache_dirty = True
            if self._cache_thread is None:
                self._cache_thread = threading.Thread(target=self._cache_writer, name="promptops-cache", daemon=True)
                self._cache_thread.start()
            self._cache_cond.notify_all()

    def _cache_writer(self) -> None:
        assert self._cache_file is not None
        while True:
            with self._cache_cond:
                while not self._cache_dirty and not self._stop.is_set():
                    self._cache_cond.wait()
                if not self._cache_dirty:
                    return
                self._cache_dirty = False
                self._cache_writing = True
            try:
                snapshot = self._resolver.snapshot
                write_cache_file(self._cache_file, self._http.base_url, snapshot, self._source.etag_of(snapshot))
            except PromptopsError as error:
                self._report(error)
            finally:
                with self._cache_cond:
                    self._cache_writing = False
                    self._cache_cond.notify_all()

    def _finish_cache_writes(self) -> None:
        thread = self._cache_thread
        if thread is None:
            return
        with self._cache_cond:
            self._cache_cond.notify_all()
        thread.join(timeout=10)

    def _emit_changes(self, changes: List[ChangeEvent]) -> None:
        for change in changes:
            self._emit("change", change)

    def _emit(self, event: str, payload: Any) -> None:
        for listener in self._listeners.get(event, []):
            try:
                listener(payload)
            except Exception as error:  # noqa: BLE001 - a throwing listener must not stop the others
                if event == "change":
                    self._report(to_promptops_error(error, "listener_failed", "a 'change' listener raised"))

    def _notify(self, error: PromptopsError) -> None:
        """Trace pipeline problems: to on_error and 'error', without touching status()['last_error']."""
        if self._on_error is not None:
            try:
                self._on_error(error)
            except Exception:  # noqa: BLE001 - the app's error handler must not break the client
                pass
        self._emit("error", error)

    def _report(self, error: PromptopsError, repeating: bool = False) -> None:
        """Through on_error and 'error'; ``repeating`` errors (retries) are reported once until they change."""
        self._last_error = error
        key = f"{error.code}:{error.message}"
        with self._report_lock:
            if repeating and key == self._last_reported:
                return
            self._last_reported = key if repeating else ""
        self._notify(error)
