"""How the client stays current, against a scripted server: reconnecting with Last-Event-ID, the idle
watchdog, conditional snapshot checks, /healthz probes during an outage, cursor regressions, resync,
long-polling, and refused events."""

from __future__ import annotations

import json
import threading
from typing import Any, Dict, Iterator, List

import pytest

import promptops.client as client_module
from promptops import Client, PromptopsError

from fake_server import FakeServer, Handler, Request, label_event, snapshot, version
from support import wait_for

NAME = "greeter"
V1 = version(NAME, 1, "one")
V2 = version(NAME, 2, "two")
V3 = version(NAME, 3, "three")


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    try:
        yield server
    finally:
        server.close()


def _serve_snapshot(fake: FakeServer, doc: Dict[str, Any], etag: str = '"e1"') -> None:
    def answer(handler: Handler, request: Request) -> None:
        if request.headers.get("if-none-match") == etag:
            handler.answer(304, headers={"etag": etag})
        else:
            handler.answer(200, doc, {"etag": etag})

    fake.route("GET", "/api/v1/snapshot", answer)


def _client(fake: FakeServer, **options: Any) -> Client:
    options.setdefault("traces", False)
    options.setdefault("snapshot_check_interval_ms", 0)
    options.setdefault("reconnect", {"initial_delay_ms": 10, "max_delay_ms": 20})
    return Client(fake.url, "po_test", **options)


class Errors:
    def __init__(self, client: Client) -> None:
        self.items: List[PromptopsError] = []
        self.wake = threading.Event()
        client.on("error", self._add)
        client.on("change", lambda _change: self.wake.set())

    def _add(self, error: PromptopsError) -> None:
        self.items.append(error)
        self.wake.set()

    def codes(self) -> List[str]:
        return [error.code for error in self.items]


def test_a_dropped_stream_resumes_after_its_last_event(fake: FakeServer) -> None:
    _serve_snapshot(fake, snapshot(5, NAME, {"production": V1}))
    connections: List[Request] = []

    def stream(handler: Handler, request: Request) -> None:
        connections.append(request)
        handler.open_stream()
        if len(connections) == 1:
            handler.send_event("ready", '{"cursor":5}', 5)
            handler.send_event("label", label_event(6, NAME, "production", V2), 6)
            return  # the connection drops
        handler.send_event("ready", '{"cursor":6}', 6)
        fake.hold()

    fake.route("GET", "/api/v1/stream", stream)
    client = _client(fake).ready()
    try:
        errors = Errors(client)
        wait_for(lambda: len(connections) >= 2 and client.status()["connected"], what="the second connection", wake=errors.wake)
        assert client.get(NAME).sha == V2["sha"]
        first, second = connections[0], connections[1]
        assert first.headers["last-event-id"] == "5" and "after=5&catchup=snapshot" in first.path
        assert second.headers["last-event-id"] == "6" and "after=6&" in second.path
        assert first.headers["authorization"] == "Bearer po_test"
    finally:
        client.close()


def test_a_silent_stream_is_reopened(fake: FakeServer) -> None:
    _serve_snapshot(fake, snapshot(5, NAME, {"production": V1}))

    def stream(handler: Handler, request: Request) -> None:
        handler.open_stream()
        handler.send_event("ready", '{"cursor":5}', 5)
        fake.hold()

    fake.route("GET", "/api/v1/stream", stream)
    client = _client(fake, stream_idle_timeout_ms=200).ready()
    try:
        errors = Errors(client)
        wait_for(lambda: "stream_idle" in errors.codes(), what="the idle watchdog", wake=errors.wake)
        wait_for(lambda: len(fake.seen("GET", "/api/v1/stream")) >= 2, what="a new stream")
        assert client.get(NAME).sha == V1["sha"]
    finally:
        client.close()


def test_snapshot_checks_are_conditional_and_install_what_the_feed_missed(fake: FakeServer) -> None:
    state = {"doc": snapshot(5, NAME, {"production": V1}), "etag": '"e1"'}

    def answer(handler: Handler, request: Request) -> None:
        if request.headers.get("if-none-match") == state["etag"]:
            handler.answer(304, headers={"etag": state["etag"]})
        else:
            handler.answer(200, state["doc"], {"etag": state["etag"]})

    fake.route("GET", "/api/v1/snapshot", answer)

    def stream(handler: Handler, request: Request) -> None:
        handler.open_stream()
        handler.send_event("ready", '{"cursor":5}', 5)
        fake.hold()

    fake.route("GET", "/api/v1/stream", stream)
    client = _client(fake, snapshot_check_interval_ms=50).ready()
    try:
        changes: List[Dict[str, Any]] = []
        moved = threading.Event()
        client.on("change", lambda change: (changes.append(change), moved.set()))
        wait_for(lambda: len(fake.seen("GET", "/api/v1/snapshot")) >= 3, what="two snapshot checks")
        checks = fake.seen("GET", "/api/v1/snapshot")
        assert checks[0].headers.get("if-none-match") is None and checks[0].headers["accept-encoding"] == "gzip"
        assert all(check.headers.get("if-none-match") == '"e1"' for check in checks[1:])

        state["doc"], state["etag"] = snapshot(7, NAME, {"production": V2}), '"e2"'
        wait_for(lambda: client.get(NAME).sha == V2["sha"], what="the check to install the new snapshot", wake=moved)
        assert changes[-1] == {"name": NAME, "label": "production", "sha": V2["sha"], "previous_sha": V1["sha"], "version": 2, "seq": 7, "kind": "snapshot"}
        assert client.status()["cursor"] == 7
    finally:
        client.close()


def test_while_the_server_is_away_healthz_is_probed_and_a_2xx_reconnects(fake: FakeServer, monkeypatch: Any) -> None:
    # Backoff delays are random * bound: fix the draw so the wait is half the bound (30 s) and the probe
    # phase half the interval; only a successful probe can end the wait within the test's deadline.
    monkeypatch.setattr(client_module.random, "random", lambda: 0.5)
    _serve_snapshot(fake, snapshot(5, NAME, {"production": V1}))
    attempts: List[Request] = []

    def stream(handler: Handler, request: Request) -> None:
        attempts.append(request)
        if len(attempts) == 1:
            handler.send_response(503)  # a gateway's 503: no promptops error body
            handler.send_header("content-length", "0")
            handler.end_headers()
            return
        handler.open_stream()
        handler.send_event("ready", '{"cursor":5}', 5)
        fake.hold()

    fake.route("GET", "/api/v1/stream", stream)
    fake.route("GET", "/healthz", lambda handler, request: handler.answer(200, {"status": "ok"}))
    client = _client(fake, reconnect={"initial_delay_ms": 60_000, "max_delay_ms": 60_000, "probe_interval_ms": 50}).ready()
    try:
        wait_for(lambda: client.status()["connected"], timeout=20, what="the reconnect after the probe")
        assert len(attempts) == 2 and len(fake.seen("GET", "/healthz")) >= 1
        assert "authorization" not in fake.seen("GET", "/healthz")[0].headers
    finally:
        client.close()


def test_a_server_behind_the_cursor_or_a_resync_reloads_the_snapshot(fake: FakeServer) -> None:
    _serve_snapshot(fake, snapshot(5, NAME, {"production": V1}), etag='"never-matches"')
    connections: List[Request] = []

    def stream(handler: Handler, request: Request) -> None:
        connections.append(request)
        handler.open_stream()
        if len(connections) == 1:
            handler.send_event("ready", '{"cursor":3}', 3)  # behind the client's 5
            fake.hold(1)
        elif len(connections) == 2:
            handler.send_event("ready", '{"cursor":5}', 5)
            handler.send_event("resync", '{"cursor":900}')
        else:
            handler.send_event("ready", '{"cursor":5}', 5)
            fake.hold()

    fake.route("GET", "/api/v1/stream", stream)
    client = _client(fake).ready()
    try:
        errors = Errors(client)
        # The start, then one reload after the regression and one after the resync; the reloads and the
        # reconnections run on the client's thread, so wait for all of them rather than the third connection.
        wait_for(
            lambda: len(connections) >= 3
            and client.status()["connected"]
            and len(fake.seen("GET", "/api/v1/snapshot")) >= 3
            and "cursor_regressed" in errors.codes(),
            what="three connections, three snapshot loads and the regression reported",
            wake=errors.wake,
        )
    finally:
        client.close()


def test_a_tampered_event_is_refused_and_replayed_from_the_cursor(fake: FakeServer) -> None:
    _serve_snapshot(fake, snapshot(5, NAME, {"production": V1}))
    tampered = json.loads(label_event(6, NAME, "production", V2))
    tampered["content"]["template"] = "tampered"
    connections: List[Request] = []

    def stream(handler: Handler, request: Request) -> None:
        connections.append(request)
        handler.open_stream()
        handler.send_event("ready", '{"cursor":5}', 5)
        handler.send_event("label", json.dumps(tampered) if len(connections) == 1 else label_event(6, NAME, "production", V2), 6)
        fake.hold()

    fake.route("GET", "/api/v1/stream", stream)
    client = _client(fake).ready()
    try:
        errors = Errors(client)
        wait_for(lambda: client.get(NAME).sha == V2["sha"], what="the genuine event", wake=errors.wake)
        assert "sha_mismatch" in errors.codes()
        assert connections[1].headers["last-event-id"] == "5"
    finally:
        client.close()


def test_long_polling_applies_events_and_fetches_a_version_the_event_omits(fake: FakeServer) -> None:
    _serve_snapshot(fake, snapshot(5, NAME, {"production": V1}))
    polls: List[Request] = []

    def changes(handler: Handler, request: Request) -> None:
        polls.append(request)
        if len(polls) == 1:
            event = json.loads(label_event(6, NAME, "production", V3))
            del event["content"]  # the client fetches the version itself
            handler.answer(200, {"events": [event, {"type": "review", "seq": 8}], "cursor": 9})
        else:
            fake.hold(0.2)
            handler.answer(200, {"events": [], "cursor": 9})

    fake.route("GET", "/api/v1/changes", changes)
    fake.route("GET", f"/api/v1/prompts/{NAME}/versions/{V3['sha']}", lambda handler, request: handler.answer(200, {**V3, "name": NAME}))
    client = _client(fake, transport="poll", poll_wait_seconds=1).ready()
    try:
        wait_for(lambda: client.status()["cursor"] == 9, what="the poll's cursor")
        assert client.get(NAME).sha == V3["sha"]
        assert "after=5&wait=1" in polls[0].path and "after=9&wait=1" in polls[1].path
    finally:
        client.close()


def test_scope_reaches_the_snapshot_and_the_stream(fake: FakeServer) -> None:
    _serve_snapshot(fake, snapshot(5, NAME, {"production": V1}))

    def stream(handler: Handler, request: Request) -> None:
        handler.open_stream()
        handler.send_event("ready", '{"cursor":5}', 5)
        fake.hold()

    fake.route("GET", "/api/v1/stream", stream)
    client = _client(fake, scope={"names": ["greeter", "a/b"], "prefix": "checkout/"}).ready()
    try:
        wait_for(lambda: client.status()["connected"], what="the stream")
        assert fake.seen("GET", "/api/v1/snapshot")[0].path == "/api/v1/snapshot?names=greeter,a%2Fb&prefix=checkout%2F"
        assert fake.seen("GET", "/api/v1/stream")[0].path.endswith("&catchup=snapshot&names=greeter,a%2Fb&prefix=checkout%2F")
    finally:
        client.close()


def test_close_ends_the_stream_and_get_keeps_answering(fake: FakeServer) -> None:
    _serve_snapshot(fake, snapshot(5, NAME, {"production": V1}))

    def stream(handler: Handler, request: Request) -> None:
        handler.open_stream()
        handler.send_event("ready", '{"cursor":5}', 5)
        fake.hold()

    fake.route("GET", "/api/v1/stream", stream)
    client = _client(fake).ready()
    wait_for(lambda: client.status()["connected"], what="the stream")
    served = client.get(NAME)
    client.close()
    assert all(not thread.is_alive() for thread in client._threads)
    assert client.status()["state"] == "closed" and client.get(NAME) is served
    with pytest.raises(PromptopsError) as closed:
        client.ready()
    assert closed.value.code == "client_closed"


def test_a_gzip_snapshot_is_decoded_and_the_context_manager_closes(fake: FakeServer) -> None:
    import gzip

    body = gzip.compress(json.dumps(snapshot(5, NAME, {"production": V1})).encode())

    def answer(handler: Handler, request: Request) -> None:
        handler.send_response(200)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-encoding", "gzip")
        handler.send_header("content-length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    fake.route("GET", "/api/v1/snapshot", answer)
    fake.route("GET", "/api/v1/stream", lambda handler, request: (handler.open_stream(), fake.hold()))
    with _client(fake) as client:
        assert client.status()["state"] == "ready"
        assert client.get(NAME).sha == V1["sha"] and client.get(f"{NAME}@v1").label is None
    assert client.status()["state"] == "closed"
    assert fake.seen("GET", "/api/v1/snapshot")[0].headers["accept-encoding"] == "gzip"
