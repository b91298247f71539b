"""Unit tests of the pure parts beyond the shared vectors: ECMAScript number formatting against node
itself, the mustache parser's corners, the SSE parser, option checks, and thread-safe resolution."""

from __future__ import annotations

import json
import random
import shutil
import struct
import subprocess
import threading
from typing import Any, Dict, List

import pytest

from promptops import Client, PromptopsError, canonical_json, es_number, render_template
from promptops.canonical import js_json
from promptops.prompt import prompt_sha, render_prompt, validate_prompt_content
from promptops.resolver import Resolver
from promptops.snapshot import Snapshot, SnapshotPrompt, SnapshotVersion
from promptops.sse import SseMessage, SseParser


def _code(call: Any) -> str:
    with pytest.raises(PromptopsError) as caught:
        call()
    return caught.value.code


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_numbers_print_as_javascript_prints_them() -> None:
    generator = random.Random(26)
    values: List[float] = [0.1 + 0.2, 1e21, 1e-7, 5e-324, 1.7976931348623157e308, 123456789012345680000.0, 2.0**53 + 2]
    for _ in range(3000):
        bits = generator.getrandbits(64)
        value = struct.unpack("<d", struct.pack("<Q", bits))[0]
        if value == value and abs(value) != float("inf"):
            values.append(value)
        values.append(round(generator.uniform(-1e7, 1e7), generator.randint(0, 9)))
    # repr strings parse back to the same doubles in JavaScript (Number(text) rounds correctly).
    script = "const v = JSON.parse(require('fs').readFileSync(0, 'utf8')); console.log(JSON.stringify(v.map((x) => String(Number(x)))))"
    node = subprocess.run(["node", "-e", script], input=json.dumps([repr(v) for v in values]), capture_output=True, text=True, check=True)
    expected = json.loads(node.stdout)
    assert [es_number(v) for v in values] == expected


def test_integers_beyond_2_53_are_doubles_and_non_finite_numbers_are_refused() -> None:
    assert canonical_json(9007199254740993) == "9007199254740992"
    assert canonical_json(10**21) == "1e+21"
    assert canonical_json({"b": [1.0, -0.0], "a": 1e-7}) == '{"a":1e-7,"b":[1,0]}'
    assert _code(lambda: canonical_json([float("nan")])) == "invalid_json"
    with pytest.raises(PromptopsError) as caught:
        canonical_json({"x": [1, 10**400]})
    assert caught.value.message == "x[1]: Infinity is not a finite number"


def test_js_json_orders_integer_like_keys_first() -> None:
    assert js_json({"b": 1, "10": 2, "a": 3, "2": 4, "01": 5}) == '{"2":4,"10":2,"b":1,"a":3,"01":5}'


def test_template_corners() -> None:
    view = {"items": [{"n": "a"}, {"n": "b"}], "user": {"name": "Ada"}, "zero": 0, "flag": False}
    assert render_template("{{#items}}{{n}},{{/items}} {{items.length}}", view) == "a,b, 2"
    assert render_template("{{user.name}} {{user.missing}}|{{#zero}}zero is truthy{{/zero}}", view) == "Ada |zero is truthy"
    assert render_template("{{^flag}}no{{/flag}}{{=<% %>=}}<% user.name %> {{x}}", view) == "noAda {{x}}"
    assert render_template("{{{user}}} {{&zero}}", view) == '{"name":"Ada"} 0'
    assert render_template("a\n  {{> s}}\nb", {}, {"s": "x\ny\n"}) == "a\n  x\n  y\nb"
    assert render_template("{{! a comment }}\nline", {}) == "line"
    with pytest.raises(PromptopsError) as unclosed:
        render_template("😀 {{#a}}", {}, where="t")
    assert unclosed.value.code == "invalid_template"
    assert unclosed.value.message == 't: template does not parse: Unclosed section "a" at 9'  # UTF-16 positions, as node says
    assert _code(lambda: render_template("{{#a}}" * 65 + "{{/a}}" * 65, {})) == "invalid_template"
    assert _code(lambda: render_template("{{> s}}", {}, {"s": "{{> s}}"})) == "slot_recursion"
    assert _code(lambda: render_template("{{> nope}}", {})) == "missing_slot"
    nested: Any = 1
    for _ in range(70):
        nested = [nested]
    assert _code(lambda: render_template("{{x}}", {"x": nested})) == "invalid_variables"


def test_render_prompt_validates_variables() -> None:
    content = validate_prompt_content(
        {
            "name": "t",
            "type": "text",
            "config": {"params": {}},
            "variables": {"n": {"type": "integer", "required": True}, "s": {"type": "string", "required": False, "default": "x"}},
            "slots": {},
            "template": "{{n}} {{s}}",
        }
    )
    assert render_prompt(content, {"n": 3.0}) == {"type": "text", "text": "3 x"}
    with pytest.raises(PromptopsError) as caught:
        render_prompt(content, {"n": "3", "extra": 1})
    assert caught.value.code == "invalid_variables"
    assert 'variable "extra" is not declared by the prompt (declared: n, s)' in caught.value.message
    assert "variable {{n}} must be of type integer, got string" in caught.value.message
    assert _code(lambda: render_prompt(content, {"n": 1, "s": object()})) == "invalid_variables"
    assert len(prompt_sha(content)) == 64


def test_sse_parser_follows_the_spec() -> None:
    messages: List[SseMessage] = []
    parser = SseParser(messages.append)
    parser.push("\ufeffid: 7\r")
    parser.push("\nevent: ready\ndata: {\"cursor\"")
    parser.push(":7}\n\n: keepalive\n\ndata: a\ndata:b\r\n\r\nevent: x\ndata: never")
    parser.end()
    assert messages == [SseMessage("ready", '{"cursor":7}', "7"), SseMessage("message", "a\nb", "7")]


def test_client_options_are_checked() -> None:
    assert _code(lambda: Client("ftp://x", "k")) == "invalid_options"
    assert _code(lambda: Client("http://127.0.0.1:9", "")) == "invalid_options"
    assert _code(lambda: Client("http://127.0.0.1:9", "k", transport="ws")) == "invalid_options"
    assert _code(lambda: Client("http://127.0.0.1:9", "k", request_timeout_ms=-1)) == "invalid_options"
    assert _code(lambda: Client("http://127.0.0.1:9", "k", traces={"batch_size": 5000})) == "invalid_options"
    assert _code(lambda: Client("http://127.0.0.1:9", "k", scope={"prefix": ""})) == "invalid_options"
    bad_default = {"name": "p", "type": "text", "config": {"params": {}}, "variables": {}, "slots": {}, "template": "{{x}}"}
    assert _code(lambda: Client("http://127.0.0.1:9", "k", fallback_prompts={"p": bad_default})) == "invalid_prompt"


def test_in_code_defaults_serve_before_ready() -> None:
    content = {"name": "p", "type": "text", "config": {"params": {}, "model": "m"}, "variables": {}, "slots": {}, "template": "hi"}
    client = Client("http://127.0.0.1:9", "k", fallback_prompts={"p": content}, traces=False)
    prompt = client.get("p", label="anything")
    assert (prompt.version, prompt.source, prompt.label, prompt.variant) == (0, "fallback", "anything", "base")
    request = prompt.to_openai()
    assert request == {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert json.loads(json.dumps(request)) == request
    with pytest.raises(AttributeError):
        prompt.sha = "x"  # type: ignore[misc]
    with pytest.raises(PromptopsError) as missing:
        client.get("q")
    assert missing.value.code == "prompt_not_found" and "ready() has not completed yet" in missing.value.message


def _snapshot(cursor: int, sha: str, content: Dict[str, Any]) -> Snapshot:
    return Snapshot("p", cursor, {"greeter": SnapshotPrompt({"production": sha}, {sha: SnapshotVersion(cursor, sha, content)})})


def test_resolution_is_thread_safe_and_never_caches_a_replaced_snapshot() -> None:
    contents = [
        {"name": "greeter", "type": "text", "config": {"params": {}}, "variables": {}, "slots": {}, "template": f"v{i}"} for i in range(2)
    ]
    shas = [prompt_sha(content) for content in contents]
    resolver = Resolver()
    resolver.set_snapshot(_snapshot(1, shas[0], contents[0]))
    stop = threading.Event()
    bad: List[str] = []

    def read() -> None:
        while not stop.is_set():
            got = resolver.get("greeter")
            if got.sha not in shas:
                bad.append(got.sha)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    for cursor in range(2, 3002):
        which = cursor % 2
        resolver.update_snapshot(_snapshot(cursor, shas[which], contents[which]), "greeter")
    stop.set()
    for reader in readers:
        reader.join()
    assert bad == []
    # The last update wins for every reader: no result of an older snapshot was left in the cache.
    assert resolver.get("greeter").sha == shas[3001 % 2]
