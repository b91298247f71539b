"""Tracing: the event format, batching, retries and Retry-After, the bounded queue, rejections, scores,
flush at interpreter exit, instrument_openai with fakes of the openai client's shape, and OpenTelemetry
attributes with a stand-in of opentelemetry-api."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import types
from typing import Any, Dict, Iterator, List

import pytest

import promptops.trace.otel as otel
from promptops import Client, PromptopsError, instrument_openai, prompt_span, set_prompt_attributes
from promptops.resolved import ResolvedPrompt
from promptops.trace.event import TRUNCATED, build_event

from conftest import SRC
from fake_server import FakeServer, Handler, Request, text_content
from support import wait_for

CONTENT = {**text_content("greeter", "Hi {{name}}"), "variables": {"name": {"type": "string", "required": True}}}
CONTENT["config"] = {"params": {"temperature": 0.2}, "model": "gpt-4o-mini"}


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    try:
        yield server
    finally:
        server.close()


def _client(url: str, errors: List[PromptopsError], **traces: Any) -> Client:
    return Client(url, "po_test", fallback_prompts={"greeter": CONTENT}, on_error=errors.append, traces={"otel": False, **traces})


def _accept_all(handler: Handler, request: Request) -> None:
    ids = [event["id"] for event in request.json()["events"]]
    handler.answer(200, {"accepted": ids, "duplicates": [], "rejected": []})


def _events(fake: FakeServer) -> List[List[Dict[str, Any]]]:
    return [request.json()["events"] for request in fake.seen("POST", "/api/v1/ingest")]


def test_the_event_has_the_typescript_sdk_wire_format() -> None:
    client = Client("http://127.0.0.1:9", "k", fallback_prompts={"greeter": CONTENT}, traces=False)
    prompt = client.get("greeter")
    built = build_event(
        {
            "prompt": prompt,
            "variables": {"name": "Ada"},
            "output": "x" * (200 * 1024),
            "latency_ms": 12.5,
            "usage": {"input_tokens": 3, "output_tokens": 4},
            "error": ValueError("boom"),
            "trace_id": "A" * 32,
            "started_at": 1_700_000_000_000,
            "attributes": {"k": 1},
        },
        "e1",
        0,
    )
    assert built.issues == []
    event = built.event
    assert event is not None
    assert event["prompt"] == {"name": "greeter", "sha": prompt.sha}  # version 0 (an in-code default) is left out
    assert event["label"] == "production" and "rollout" not in event and "releaseSha" not in event
    assert event["traceId"] == "a" * 32 and event["startedAt"] == 1_700_000_000_000 and event["latencyMs"] == 12.5
    assert event["usage"] == {"inputTokens": 3, "outputTokens": 4} and event["error"] == "ValueError: boom"
    assert len(event["output"]) == 128 * 1024 and event["output"].endswith(TRUNCATED)
    bad = build_event({"prompt": {"name": "Bad Name", "sha": "xyz"}, "latency_ms": -1, "status": "meh", "span_id": "12"}, "e 2", 0)
    assert [issue["path"] for issue in bad.issues] == ["id", "latencyMs", "prompt.name", "prompt.sha", "spanId", "status"]


def test_a_rollout_trace_carries_the_rollout_and_the_unit_hash_never_the_key() -> None:
    served = ResolvedPrompt("greeter", 2, "b" * 64, "production", "candidate", "snapshot", None, CONTENT, "ro_01hx7k")
    built = build_event({"prompt": served, "unit_key": "zoë@example.com"}, "e1", 0)
    assert built.issues == [] and built.event is not None
    # The conformance vector "an e-mail address" (conformance/assignment.json unitHashes).
    assert built.event["rollout"] == {"id": "ro_01hx7k", "arm": "candidate", "unit": "1b59ecdee5251c8c"}
    assert "zo" not in json.dumps(built.event)
    assert otel.span_attributes(built.event)["promptops.rollout.unit"] == "1b59ecdee5251c8c"
    assert otel.span_attributes(built.event)["promptops.rollout.id"] == "ro_01hx7k"
    # No unit key, or an empty one: the rollout and arm, no unit.
    for data in ({"prompt": served}, {"prompt": served, "unit_key": ""}):
        assert build_event(data, "e2", 0).event["rollout"] == {"id": "ro_01hx7k", "arm": "candidate"}  # type: ignore[index]
    # The base arm (no rollout on the label) records no rollout, whatever the unit key.
    base = ResolvedPrompt("greeter", 1, "a" * 64, "production", "base", "snapshot", None, CONTENT)
    assert "rollout" not in build_event({"prompt": base, "unit_key": "user-42"}, "e3", 0).event  # type: ignore[operator]
    assert [issue["path"] for issue in build_event({"prompt": served, "unit_key": 42}, "e4", 0).issues] == ["unitKey"]


def test_instrument_openai_sends_the_user_as_the_unit_key() -> None:
    served = ResolvedPrompt("greeter", 2, "b" * 64, "production", "baseline", "snapshot", None, CONTENT, "ro_01hx7k")
    recorder = _Recorder()
    openai = instrument_openai(_FakeOpenAI(_completion), recorder)
    openai.chat.completions.create(**served.to_openai({"name": "Ada"}), user="user-42")
    (event,) = recorder.events
    assert event["unit_key"] == "user-42"
    assert build_event(event, "e1", 0).event["rollout"]["unit"] == "8fbee10ed30a3540"  # type: ignore[index]


def test_events_are_batched_and_retried_after_a_503_with_retry_after(fake: FakeServer) -> None:
    answers = iter([503, 200, 200, 200])

    def ingest(handler: Handler, request: Request) -> None:
        status = next(answers)
        if status == 503:
            handler.answer(503, {"error": {"code": "overloaded", "message": "busy"}}, {"retry-after": "0"})
        else:
            _accept_all(handler, request)

    fake.route("POST", "/api/v1/ingest", ingest)
    errors: List[PromptopsError] = []
    client = _client(fake.url, errors, batch_size=2, flush_interval_ms=60_000)
    prompt = client.get("greeter")
    ids = [client.trace(prompt=prompt, variables={"name": str(i)}, output=f"hi {i}", latency_ms=1) for i in range(5)]
    assert client.flush(timeout=30)
    batches = _events(fake)
    assert [len(batch) for batch in batches] == [2, 2, 2, 1]  # the first batch twice: 503, then sent
    assert [event["id"] for batch in batches[1:] for event in batch] == ids
    assert client.trace_stats() == {"queued": 0, "sent": 5, "dropped": 0, "rejected": 0, "retries": 1}
    assert [error.code for error in errors] == ["overloaded"]
    assert all(request.headers["authorization"] == "Bearer po_test" for request in fake.seen("POST", "/api/v1/ingest"))
    client.close()


def test_a_partial_batch_goes_after_the_flush_interval(fake: FakeServer) -> None:
    fake.route("POST", "/api/v1/ingest", _accept_all)
    client = _client(fake.url, [], flush_interval_ms=50)
    client.trace(prompt=client.get("greeter"), output="one")
    wait_for(lambda: client.trace_stats()["sent"] == 1, what="the timer's batch")
    client.close()


def test_rejections_the_queue_bound_and_scores(fake: FakeServer) -> None:
    def ingest(handler: Handler, request: Request) -> None:
        events = request.json()["events"]
        handler.answer(200, {"accepted": [e["id"] for e in events[1:]], "duplicates": [], "rejected": [{"index": 0, "id": events[0]["id"], "issues": [{"path": "x", "message": "no"}]}]})

    fake.route("POST", "/api/v1/ingest", ingest)
    fake.route("POST", "/api/v1/traces/e-1/scores", lambda handler, request: handler.answer(201, {"id": "s"}))
    errors: List[PromptopsError] = []
    client = _client(fake.url, errors, max_queue_size=4, flush_interval_ms=60_000)
    for index in range(5):
        client.trace(id=f"e-{index}", output="x")
    client.trace(latency_ms="slow")
    assert client.flush(timeout=30)
    client.score("e-1", "thumbs", "up", comment="good")
    client.score("e-1", "stars", 5)
    assert client.flush(timeout=30)
    stats = client.trace_stats()
    assert stats == {"queued": 0, "sent": 4, "dropped": 1, "rejected": 3, "retries": 0}, [e.message for e in errors]
    assert [e.code for e in errors] == ["trace_queue_full", "invalid_trace", "trace_rejected", "invalid_score"]
    assert fake.seen("POST", "/api/v1/traces/e-1/scores")[0].json() == {"kind": "thumbs", "value": "up", "comment": "good"}
    client.close()


def test_what_is_queued_is_sent_at_interpreter_exit(fake: FakeServer, tmp_path: Any) -> None:
    fake.route("POST", "/api/v1/ingest", _accept_all)
    script = os.path.join(str(tmp_path), "app.py")
    with open(script, "w", encoding="utf-8") as handle:
        handle.write(
            "import sys\n"
            f"sys.path.insert(0, {SRC!r})\n"
            "from promptops import Client\n"
            f"client = Client({fake.url!r}, 'k', traces={{'flush_interval_ms': 600000, 'otel': False}})\n"
            "print(client.trace(prompt={'name': 'greeter'}, output='at exit'))\n"
        )
    ran = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    events = [event for batch in _events(fake) for event in batch]
    assert [(event["id"], event["output"]) for event in events] == [(ran.stdout.strip(), "at exit")]


class _Completions:
    def __init__(self, behaviour: Any) -> None:
        self.behaviour = behaviour
        self.calls: List[Dict[str, Any]] = []

    def create(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        return self.behaviour(kwargs)


class _FakeOpenAI:
    def __init__(self, behaviour: Any) -> None:
        self.chat = types.SimpleNamespace(completions=_Completions(behaviour))


class _Recorder:
    def __init__(self) -> None:
        self.events: List[Dict[str, Any]] = []

    def trace(self, **event: Any) -> str:
        self.events.append(event)
        return "id"


def _completion(kwargs: Dict[str, Any]) -> Any:
    message = types.SimpleNamespace(content="Hello Ada", refusal=None, tool_calls=None)
    usage = types.SimpleNamespace(prompt_tokens=7, completion_tokens=2)
    return types.SimpleNamespace(id="c1", model="gpt-4o-mini-x", choices=[types.SimpleNamespace(message=message, finish_reason="stop")], usage=usage)


class APIStatusError(Exception):
    status_code = 429


def test_instrument_openai_records_calls_made_with_to_openai() -> None:
    client = Client("http://127.0.0.1:9", "k", fallback_prompts={"greeter": CONTENT}, traces=False)
    prompt = client.get("greeter")
    recorder = _Recorder()
    openai = instrument_openai(_FakeOpenAI(_completion), recorder)
    assert instrument_openai(openai, recorder) is openai  # instrumenting twice re-targets
    request = prompt.to_openai({"name": "Ada"})
    result = openai.chat.completions.create(**request, stream=False)
    assert result.model == "gpt-4o-mini-x"
    sent = openai.chat.completions.calls[0]
    assert json.loads(json.dumps(sent)) == {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi Ada"}], "temperature": 0.2, "stream": False}
    (event,) = recorder.events
    assert event["prompt"] is prompt and event["variables"] == {"name": "Ada"} and event["output"] == "Hello Ada"
    assert event["usage"] == {"input_tokens": 7, "output_tokens": 2} and event["model"] == "gpt-4o-mini-x" and event["status"] == "ok"
    assert event["attributes"]["gen_ai.response.finish_reasons"] == ["stop"] and event["attributes"]["promptops.source"] == "fallback"

    openai.chat.completions.create(model="x", messages=[{"role": "user", "content": "plain"}])
    assert len(recorder.events) == 1  # no prompt link: untouched

    def fail(_kwargs: Dict[str, Any]) -> Any:
        raise APIStatusError("rate limited")

    failing = instrument_openai(_FakeOpenAI(fail), recorder)
    with pytest.raises(APIStatusError):
        failing.chat.completions.create(**prompt.to_openai({"name": "Ada"}))
    error = recorder.events[-1]
    assert error["status"] == "error" and error["error"] == "APIStatusError: rate limited"
    assert error["attributes"]["error.type"] == "APIStatusError" and error["attributes"]["http.response.status_code"] == 429


class _Stream:
    """openai's Stream reads through ``_iterator``."""

    def __init__(self, chunks: List[Any]) -> None:
        self._iterator = iter(chunks)

    def __iter__(self) -> Iterator[Any]:
        yield from self._iterator


def _chunk(text: str, reason: Any = None) -> Dict[str, Any]:
    return {"id": "c2", "model": "m-1", "choices": [{"delta": {"content": text}, "finish_reason": reason}]}


def test_instrument_openai_records_streams_when_they_end() -> None:
    client = Client("http://127.0.0.1:9", "k", fallback_prompts={"greeter": CONTENT}, traces=False)
    prompt = client.get("greeter")
    recorder = _Recorder()
    chunks = [_chunk("Hel"), _chunk("lo", "stop"), {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2}}]
    openai = instrument_openai(_FakeOpenAI(lambda _kwargs: _Stream(list(chunks))), recorder)
    stream = openai.chat.completions.create(**prompt.to_openai({"name": "Ada"}), stream=True)
    assert recorder.events == []  # not before the iteration ends
    assert [c for c in stream] == chunks
    (event,) = recorder.events
    assert event["output"] == "Hello" and event["usage"] == {"input_tokens": 5, "output_tokens": 2}
    assert event["attributes"]["promptops.stream"] is True and "promptops.stream.incomplete" not in event["attributes"]

    stream = openai.chat.completions.create(**prompt.to_openai({"name": "Ada"}), stream=True)
    for _chunk_seen in stream:
        break
    del _chunk_seen
    stream._iterator.close()  # what the garbage collector does to an abandoned generator
    assert recorder.events[-1]["output"] == "Hel" and recorder.events[-1]["attributes"]["promptops.stream.incomplete"] is True


def test_instrument_openai_wraps_async_clients() -> None:
    client = Client("http://127.0.0.1:9", "k", fallback_prompts={"greeter": CONTENT}, traces=False)
    recorder = _Recorder()

    class AsyncCompletions:
        async def create(self, **kwargs: Any) -> Any:
            return _completion(kwargs)

    openai = types.SimpleNamespace(chat=types.SimpleNamespace(completions=AsyncCompletions()))
    instrument_openai(openai, recorder)
    result = asyncio.run(openai.chat.completions.create(**client.get("greeter").to_openai({"name": "Ada"})))
    assert result.id == "c1" and recorder.events[0]["output"] == "Hello Ada"


class _Span:
    def __init__(self) -> None:
        self.attributes: Dict[str, Any] = {}

    def get_span_context(self) -> Any:
        return types.SimpleNamespace(is_valid=True, trace_id=0xABC, span_id=0x12)

    def is_recording(self) -> bool:
        return True

    def set_attributes(self, attributes: Dict[str, Any]) -> None:
        self.attributes.update(attributes)


def test_opentelemetry_attributes_when_the_api_is_importable(monkeypatch: Any, fake: FakeServer) -> None:
    span = _Span()
    started: List[Any] = []

    class Tracer:
        def start_as_current_span(self, name: str, attributes: Dict[str, Any]) -> Any:
            import contextlib

            started.append((name, attributes))
            return contextlib.nullcontext(span)

    api = types.ModuleType("opentelemetry.trace")
    api.get_current_span = lambda: span  # type: ignore[attr-defined]
    api.get_tracer = lambda name: Tracer()  # type: ignore[attr-defined]
    package = types.ModuleType("opentelemetry")
    package.trace = api  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "opentelemetry", package)
    monkeypatch.setitem(sys.modules, "opentelemetry.trace", api)
    monkeypatch.setattr(otel, "_loaded", False)
    monkeypatch.setattr(otel, "_api", None)

    fake.route("POST", "/api/v1/ingest", _accept_all)
    client = Client(fake.url, "k", fallback_prompts={"greeter": CONTENT}, traces={"flush_interval_ms": 10})
    prompt = client.get("greeter")
    event_id = client.trace(prompt=prompt, model="gpt", usage={"input_tokens": 1})
    assert span.attributes["promptops.prompt.name"] == "greeter" and span.attributes["promptops.prompt.sha"] == prompt.sha
    assert span.attributes["promptops.event.id"] == event_id and span.attributes["gen_ai.request.model"] == "gpt"
    assert client.flush(timeout=30)
    (event,) = _events(fake)[0]
    assert event["traceId"] == format(0xABC, "032x") and event["spanId"] == format(0x12, "016x")
    client.close()

    span.attributes.clear()
    assert set_prompt_attributes(prompt) is True
    assert span.attributes == {"promptops.prompt.name": "greeter", "promptops.prompt.sha": prompt.sha, "promptops.label": "production"}
    with prompt_span(prompt) as inside:
        assert inside is span
    assert started[0][0] == "promptops greeter" and started[0][1]["promptops.prompt.sha"] == prompt.sha


def test_without_opentelemetry_the_helpers_do_nothing(monkeypatch: Any) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # makes the import fail
    monkeypatch.setattr(otel, "_loaded", False)
    monkeypatch.setattr(otel, "_api", None)
    client = Client("http://127.0.0.1:9", "k", fallback_prompts={"greeter": CONTENT}, traces=False)
    prompt = client.get("greeter")
    assert set_prompt_attributes(prompt) is False
    with prompt_span(prompt) as inside:
        assert inside is None
    client.trace(prompt=prompt)
