"""The Python client against a real promptops server (the built CLI's ``serve --demo``): a label move
reaches it, it keeps answering when the server is killed, a lockfile serves when the server is down at
start, its cache file, its traces, and one rollback seen by a Python client and ten TypeScript clients."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
from typing import Any, Dict, Iterator, List, Optional

import pytest

from promptops import Client, PromptopsError, instrument_openai

from support import DEADLINE, GREETER, NODE, SDK_DIST, DemoServer, cli_missing, wait_for

pytestmark = pytest.mark.skipif(cli_missing() is not None, reason=cli_missing() or "")


@pytest.fixture
def demo(tmp_path: Any) -> Iterator[DemoServer]:
    server = DemoServer(str(tmp_path))
    try:
        yield server
    finally:
        server.stop()


class Recorder:
    """The client's change and error events, with an Event to wake waits on them."""

    def __init__(self, client: Client) -> None:
        self.changes: List[Dict[str, Any]] = []
        self.errors: List[PromptopsError] = []
        self.wake = threading.Event()
        client.on("change", self._change)
        client.on("error", self._error)

    def _change(self, change: Dict[str, Any]) -> None:
        self.changes.append({**change, "at": time.monotonic()})
        self.wake.set()

    def _error(self, error: PromptopsError) -> None:
        self.errors.append(error)
        self.wake.set()


def _client(server: DemoServer, **options: Any) -> Client:
    options.setdefault("traces", False)
    return Client(server.url, server.api_key, **options)


def test_a_rollback_reaches_the_python_client(demo: DemoServer) -> None:
    client = _client(demo).ready(timeout=DEADLINE)
    try:
        seen = Recorder(client)
        before = client.get(GREETER)
        assert before.sha == demo.label_sha(GREETER, "production")
        assert before.source == "snapshot" and before.version == 18
        wait_for(lambda: client.status()["connected"], what="the change stream", wake=seen.wake)

        moved = demo.rollback(GREETER)
        target = moved["label"]["sha"]
        assert target != before.sha
        wait_for(lambda: client.get(GREETER).sha == target, what="the rollback to reach the client", wake=seen.wake)
        after = client.get(GREETER)
        assert after.version == 17 and after.label == "production"
        assert "Always greet the user by name." in after.render({"user_name": "Ada", "question": "Hi?"})["messages"][0]["content"]
        change = next(c for c in seen.changes if c["label"] == "production" and c["sha"] == target)
        assert change["kind"] == "rollback" and change["previous_sha"] == before.sha
        assert client.status()["cursor"] == change["seq"]
    finally:
        client.close()


def test_get_keeps_answering_after_the_server_is_killed(demo: DemoServer) -> None:
    client = _client(demo, reconnect={"initial_delay_ms": 50, "max_delay_ms": 200}).ready(timeout=DEADLINE)
    try:
        seen = Recorder(client)
        wait_for(lambda: client.status()["connected"], what="the change stream", wake=seen.wake)
        served = client.get(GREETER)
        demo.kill()
        wait_for(lambda: not client.status()["connected"], what="the client to notice the server is gone", wake=seen.wake)
        wait_for(lambda: any(e.code in ("stream_disconnected", "server_unreachable") for e in seen.errors), what="an error report", wake=seen.wake)
        for _ in range(1000):
            assert client.get(GREETER) is served
        assert client.get(GREETER, label="staging").version == 17
        assert served.render({"user_name": "Ada", "question": "Hi?"})["type"] == "chat"
        assert client.status()["state"] == "ready"
    finally:
        client.close()
    assert client.get(GREETER) is served  # and after close()


def test_the_lockfile_serves_when_the_server_is_down_at_start(demo: DemoServer, tmp_path: Any) -> None:
    locked = demo.cli("lock", "--embed", "--url", demo.url, "--api-key", demo.api_key, "-o", "promptops.lock")
    assert locked.returncode == 0, locked.stderr
    lockfile = os.path.join(demo.directory, "promptops.lock")
    production = demo.label_sha(GREETER, "production")
    demo.kill()

    errors: List[PromptopsError] = []
    client = Client(demo.url, demo.api_key, fallback_lockfile=lockfile, on_error=errors.append, traces=False, snapshot_check_interval_ms=0)
    try:
        client.ready(timeout=DEADLINE)
        prompt = client.get(GREETER)
        assert (prompt.sha, prompt.version, prompt.source, prompt.label) == (production, 18, "fallback", "production")
        assert prompt.release_sha is not None and len(prompt.release_sha) == 64
        assert any(e.code == "server_unreachable" for e in errors)
        with pytest.raises(PromptopsError) as missing:
            client.get(GREETER, label="staging")
        assert missing.value.code == "prompt_not_found"
        assert "could not be reached" in missing.value.message and "pins 'customer_support_greeter' for production only" in missing.value.message
    finally:
        client.close()

    with pytest.raises(PromptopsError) as nothing:
        Client(demo.url, demo.api_key, traces=False).ready(timeout=DEADLINE)
    assert nothing.value.code == "nothing_to_serve"

    tampered = json.loads(open(lockfile, encoding="utf-8").read())
    tampered["prompts"][GREETER]["content"]["messages"][0]["content"] += " Tampered."
    with open(lockfile, "w", encoding="utf-8") as handle:
        json.dump(tampered, handle)
    refused: List[PromptopsError] = []
    with pytest.raises(PromptopsError) as still_nothing:
        Client(demo.url, demo.api_key, fallback_lockfile=lockfile, on_error=refused.append, traces=False).ready(timeout=DEADLINE)
    assert still_nothing.value.code == "nothing_to_serve"
    assert [e.code for e in refused][:1] == ["lockfile_tampered"]


def test_the_cache_file_serves_a_restart_and_is_revalidated(demo: DemoServer, tmp_path: Any) -> None:
    cache = os.path.join(str(tmp_path), "cache", "sdk-cache.json")
    first = _client(demo, cache_file=cache).ready(timeout=DEADLINE)
    served = first.get(GREETER).sha
    first.close()
    doc = json.loads(open(cache, encoding="utf-8").read())
    assert doc["format"] == "promptops-sdk-cache" and doc["url"] == demo.url and doc["etag"].startswith('"')

    # Restarted while the server is up: one conditional request, answered 304.
    second = _client(demo, cache_file=cache)
    answers: List[Any] = []
    revalidate = second._http.revalidate

    def spy(path: str, etag: Any, timeout_ms: Any = None) -> Any:
        answer = revalidate(path, etag, timeout_ms)
        answers.append((etag, answer))
        return answer

    second._http.revalidate = spy  # type: ignore[method-assign]
    second.ready(timeout=DEADLINE)
    assert answers[0] == (doc["etag"], None)
    assert second.status()["snapshot_from"] == "server" and second.get(GREETER).sha == served
    second.close()

    # Restarted while the server is down: the cache serves.
    demo.kill()
    errors: List[PromptopsError] = []
    third = _client(demo, cache_file=cache, on_error=errors.append).ready(timeout=DEADLINE)
    try:
        assert third.status()["snapshot_from"] == "cache"
        assert third.get(GREETER).sha == served and third.get(GREETER).source == "snapshot"
    finally:
        third.close()


def test_traces_reach_the_server_with_the_served_sha(demo: DemoServer) -> None:
    errors: List[PromptopsError] = []
    client = Client(demo.url, demo.api_key, on_error=errors.append, traces={"flush_interval_ms": 50}).ready(timeout=DEADLINE)
    try:
        prompt = client.get(GREETER)

        class Completions:
            def create(self, **kwargs: Any) -> Dict[str, Any]:
                return {
                    "id": "chatcmpl-1",
                    "model": "gpt-4o-mini-2024",
                    "choices": [{"message": {"role": "assistant", "content": f"Hello {kwargs['messages'][1]['content'][:3]}"}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 12, "completion_tokens": 3},
                }

        class Chat:
            completions = Completions()

        class FakeOpenAI:
            chat = Chat()

        openai = instrument_openai(FakeOpenAI(), client)
        openai.chat.completions.create(**prompt.to_openai({"user_name": "Ada", "question": "Where is my order?"}))
        manual = client.trace(prompt=prompt, variables={"user_name": "Bo"}, output="hi Bo", latency_ms=5, model="m")
        assert client.flush(timeout=DEADLINE)
        stats = client.trace_stats()
        assert stats["sent"] == 2 and stats["rejected"] == 0 and stats["dropped"] == 0, (stats, errors)
        traces = demo.request("GET", f"/api/v1/traces?prompt={GREETER}&limit=10")["traces"]
        by_id = {trace["id"]: trace for trace in traces}
        assert by_id[manual]["prompt"]["sha"] == prompt.sha and by_id[manual]["output"] == "hi Bo"
        instrumented = next(trace for trace in traces if trace["id"] != manual)
        assert instrumented["prompt"]["sha"] == prompt.sha and instrumented["label"] == "production"
        assert instrumented["variables"] == {"user_name": "Ada", "question": "Where is my order?"}
        assert instrumented["output"] == "Hello Ada" and instrumented["usage"] == {"inputTokens": 12, "outputTokens": 3}
        assert instrumented["model"] == "gpt-4o-mini-2024" and instrumented["status"] == "ok"
        client.score(manual, "thumbs", "up")
        assert client.flush(timeout=DEADLINE) and client.trace_stats()["sent"] == 3
    finally:
        client.close()


def _lines(process: "subprocess.Popen[str]") -> "queue.Queue[Optional[str]]":
    """The process's stdout lines, for reading with a deadline (``get(timeout=...)``)."""
    lines: "queue.Queue[Optional[str]]" = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _fleet_script(tmp: str) -> str:
    path = os.path.join(tmp, "fleet.mjs")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(
            """
const [sdk, url, apiKey, name, count] = process.argv.slice(2);
const { createClient } = await import(sdk);
const clients = Array.from({ length: Number(count) }, () =>
  createClient({ url, apiKey, traces: false, snapshotCheckIntervalMs: 0 }));
await Promise.all(clients.map((client) => client.ready()));
const start = clients.map((client) => client.get(name).sha);
const seen = new Map();
let target;
const check = () => {
  if (target === undefined) return;
  clients.forEach((client, index) => {
    if (!seen.has(index) && client.get(name).sha === target) seen.set(index, Date.now());
  });
  if (seen.size === clients.length) {
    console.log(JSON.stringify({ done: true, at: [...seen.values()] }));
    Promise.all(clients.map((client) => client.close())).then(() => process.exit(0));
  }
};
for (const client of clients) client.on('change', check);
// Ready once every stream is connected: a move made after this line reaches every client by its stream.
const connected = () => clients.every((client) => client.status().connected);
while (!connected()) await new Promise((resolve) => setTimeout(resolve, 10));
console.log(JSON.stringify({ ready: true, sha: start[0] }));
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text) => { target = text.trim(); check(); });
"""
        )
    return path


@pytest.mark.skipif(not os.path.exists(SDK_DIST), reason="packages/sdk/dist is missing: build first")
def test_a_python_client_and_ten_typescript_clients_see_the_same_rollback(demo: DemoServer, tmp_path: Any, capsys: Any) -> None:
    python = _client(demo).ready(timeout=DEADLINE)
    fleet = subprocess.Popen(
        [NODE or "node", _fleet_script(str(tmp_path)), "file://" + SDK_DIST, demo.url, demo.api_key, GREETER, "10"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=None,
        text=True,
    )
    try:
        seen = Recorder(python)
        assert fleet.stdout is not None and fleet.stdin is not None
        lines = _lines(fleet)
        ready = json.loads(lines.get(timeout=DEADLINE) or "null")
        assert ready == {"ready": True, "sha": python.get(GREETER).sha}, ready
        wait_for(lambda: python.status()["connected"], what="the Python client's stream", wake=seen.wake)

        sent_ms = time.time() * 1000
        sent = time.monotonic()
        target = demo.rollback(GREETER)["label"]["sha"]
        returned = time.monotonic()
        fleet.stdin.write(target + "\n")
        fleet.stdin.flush()
        wait_for(lambda: python.get(GREETER).sha == target, what="the rollback to reach the Python client", wake=seen.wake)
        applied = next(c["at"] for c in seen.changes if c["sha"] == target and c["label"] == "production")
        done = json.loads(lines.get(timeout=DEADLINE) or "null")
        assert done is not None and done["done"] is True and len(done["at"]) == 10, done
        assert python.get(GREETER).sha == target and python.get(GREETER).version == 17

        python_ms = (applied - sent) * 1000
        ts_ms = sorted(max(0.0, at - sent_ms) for at in done["at"])
        with capsys.disabled():  # shown in the suite's output, not captured
            print(
                f"\nrollback propagation (from the API request sent): Python client {python_ms:.1f} ms "
                f"(API call took {(returned - sent) * 1000:.1f} ms); 10 TypeScript clients: "
                f"p50 {ts_ms[4]:.1f} ms, max {ts_ms[-1]:.1f} ms"
            )
    finally:
        python.close()
        if fleet.poll() is None:
            fleet.kill()
        fleet.wait(timeout=DEADLINE)
