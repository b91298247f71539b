"""Tenant overrides in get(name, tenant=...): from the snapshot, the change feed and the lockfile, with
only the asking tenant's own entry ever read (docs/decisions/tenants.md, the TypeScript SDK's behaviour)."""

from __future__ import annotations

import random
import string
from typing import Any, Dict, Iterator, List, Optional

import pytest

from promptops import Client, PromptopsError, content_sha, create_lockfile
from promptops.overrides import effective_prompt, override_sha
from promptops.resolver import Resolver
from promptops.snapshot import apply_override_event, parse_feed_event, snapshot_to_json, validate_snapshot

from fake_server import FakeServer, Handler, Request
from support import DEADLINE, GREETER, DemoServer, cli_missing, wait_for


def _content(template: str, slots: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    return {
        "name": "faq",
        "type": "text",
        "config": {"params": {"temperature": 0.5}},
        "variables": {"question": {"type": "string", "required": True}},
        "slots": {"tone": "Be brief."} if slots is None else slots,
        "template": template,
    }


V1 = _content("{{> tone}} Q: {{question}}")
V2 = _content("Q: {{question}}", {})  # lacks the slot acme overrides
SHA1, SHA2 = content_sha(V1), content_sha(V2)
ACME = {"slots": {"tone": "Dear acme customer."}}


def _override(o: Dict[str, Any], label: str = "production", base: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    return {"version": 1, "sha": override_sha(o), "label": label, "override": o, "base": base}


def _snapshot(overrides: Dict[str, Any], production: str = SHA1, cursor: int = 5) -> Dict[str, Any]:
    versions = {SHA1: {"version": 1, "sha": SHA1, "content": V1}, SHA2: {"version": 2, "sha": SHA2, "content": V2}}
    labels = {"production": production, "staging": SHA1}
    return {"project": "p", "cursor": cursor, "prompts": {"faq": {"labels": labels, "versions": versions, "overrides": overrides}}}


def _resolver(overrides: Dict[str, Any], production: str = SHA1) -> Resolver:
    resolver = Resolver()
    resolver.set_snapshot(validate_snapshot(_snapshot(overrides, production), "test"))
    return resolver


def _text(prompt: Any) -> str:
    return prompt.render({"question": "why?"})["text"]


def test_a_tenant_is_served_its_effective_prompt_from_the_snapshot() -> None:
    resolver = _resolver({"acme": _override(ACME)})
    served = resolver.get("faq", tenant="acme")
    expected = effective_prompt(V1, ACME)
    assert _text(served) == "Dear acme customer. Q: why?"
    assert (served.sha, served.base_sha, served.override_sha, served.tenant) == (expected["sha"], SHA1, override_sha(ACME), "acme")
    assert served.sha != SHA1 and served.version == 1 and served.label == "production"
    shared = resolver.get("faq")
    assert (shared.sha, shared.base_sha, shared.override_sha, shared.tenant) == (SHA1, SHA1, None, None)
    assert _text(shared) == "Be brief. Q: why?"
    assert resolver.get("faq", tenant="acme") is served  # cached per shared result and tenant


@pytest.mark.parametrize("tenant", ["globex", "get", "keys", "__class__", "__proto__", "constructor", "items"])
def test_other_tenants_and_dict_method_names_get_the_shared_prompt(tenant: str) -> None:
    served = _resolver({"acme": _override(ACME)}).get("faq", tenant=tenant)
    assert (served.sha, served.base_sha, served.override_sha, served.tenant) == (SHA1, SHA1, None, tenant)
    assert _text(served) == "Be brief. Q: why?"


def test_pins_and_another_label_get_no_override() -> None:
    resolver = _resolver({"acme": _override(ACME)})
    for served in (
        resolver.get("faq@v1", tenant="acme"),
        resolver.get(f"faq@{SHA1[:12]}", tenant="acme"),
        resolver.get("faq", sha=SHA1, tenant="acme"),
        resolver.get("faq", label="staging", tenant="acme"),
    ):
        assert (served.sha, served.override_sha) == (SHA1, None)
        assert _text(served) == "Be brief. Q: why?"


def test_an_override_that_no_longer_fits_its_base_serves_the_shared_base() -> None:
    served = _resolver({"acme": _override(ACME)}, production=SHA2).get("faq", tenant="acme")
    assert (served.sha, served.base_sha, served.override_sha, served.tenant) == (SHA2, SHA2, None, "acme")
    assert _text(served) == "Q: why?"


def test_a_pinned_base_serves_its_own_version() -> None:
    base = {"version": 1, "sha": SHA1, "content": V1}
    served = _resolver({"acme": _override(ACME, base=base)}, production=SHA2).get("faq", tenant="acme")
    assert (served.base_sha, served.override_sha, served.version) == (SHA1, override_sha(ACME), 1)
    assert _text(served) == "Dear acme customer. Q: why?"


def test_a_tampered_override_in_the_snapshot_is_refused() -> None:
    entry = _override(ACME)
    entry["override"] = {"slots": {"tone": "Send your password."}}
    with pytest.raises(PromptopsError) as caught:
        validate_snapshot(_snapshot({"acme": entry}), "test")
    assert caught.value.code == "sha_mismatch"
    bad_tenant = {"not a tenant!": _override(ACME)}
    with pytest.raises(PromptopsError) as caught:
        validate_snapshot(_snapshot(bad_tenant), "test")
    assert caught.value.code == "invalid_snapshot"


def test_the_cache_file_shape_keeps_overrides() -> None:
    snapshot = validate_snapshot(_snapshot({"acme": _override(ACME)}), "test")
    again = validate_snapshot(snapshot_to_json(snapshot), "cache")
    resolver = Resolver()
    resolver.set_snapshot(again)
    assert resolver.get("faq", tenant="acme").override_sha == override_sha(ACME)


def test_an_override_event_replaces_the_tenants_result() -> None:
    resolver = _resolver({"acme": _override(ACME)})
    assert resolver.get("faq", tenant="acme").override_sha == override_sha(ACME)
    changed = {"slots": {"tone": "Hello acme."}}
    event = parse_feed_event({"type": "override", "seq": 6, "name": "faq", "tenant": "acme", "override": _override(changed)})
    resolver.update_snapshot(apply_override_event(resolver.snapshot, event, "test"), "faq")
    assert _text(resolver.get("faq", tenant="acme")) == "Hello acme. Q: why?"
    removed = parse_feed_event({"type": "override", "seq": 7, "name": "faq", "tenant": "acme", "override": None})
    resolver.update_snapshot(apply_override_event(resolver.snapshot, removed, "test"), "faq")
    assert resolver.get("faq", tenant="acme").override_sha is None
    assert resolver.snapshot.cursor == 7


def test_the_client_applies_override_events_from_the_feed() -> None:
    fake = FakeServer()
    fake.route("GET", "/api/v1/snapshot", lambda handler, request: handler.answer(200, _snapshot({"acme": _override(ACME)})))
    polls: List[Request] = []
    changed = {"slots": {"tone": "Hello acme."}}

    def changes(handler: Handler, request: Request) -> None:
        polls.append(request)
        if len(polls) == 1:
            event = {"type": "override", "seq": 6, "name": "faq", "tenant": "acme", "override": _override(changed)}
            handler.answer(200, {"events": [event], "cursor": 6})
        else:
            fake.hold(0.2)
            handler.answer(200, {"events": [], "cursor": 6})

    fake.route("GET", "/api/v1/changes", changes)
    client = Client(fake.url, "po_test", transport="poll", poll_wait_seconds=1, snapshot_check_interval_ms=0, traces=False)
    try:
        client.ready()
        wait_for(lambda: client.status()["cursor"] == 6, what="the override event")
        assert _text(client.get("faq", tenant="acme")) == "Hello acme. Q: why?"
        assert client.get("faq", tenant="acme").override_sha == override_sha(changed)
        assert client.get("faq", tenant="globex").override_sha is None
    finally:
        client.close()
        fake.close()


def _lock(overrides: Dict[str, Any]) -> Dict[str, Any]:
    entry = {"sha": SHA1, "version": 1, "label": "production", "content": V1, "overrides": overrides}
    return create_lockfile({"faq": entry})


def test_the_lockfile_serves_a_tenant_its_locked_override() -> None:
    client = Client("http://127.0.0.1:9", "key", fallback_lockfile=_lock({"acme": _override(ACME)}), traces=False)
    served = client.get("faq", tenant="acme")
    assert (served.source, served.base_sha, served.override_sha, served.tenant) == ("fallback", SHA1, override_sha(ACME), "acme")
    assert _text(served) == "Dear acme customer. Q: why?"
    assert client.get("faq", tenant="globex").override_sha is None
    assert client.get("faq", tenant="__class__").override_sha is None


def test_in_code_defaults_serve_the_shared_prompt() -> None:
    client = Client("http://127.0.0.1:9", "key", fallback_prompts={"faq": V1}, traces=False)
    served = client.get("faq", tenant="acme")
    assert (served.sha, served.override_sha, served.tenant) == (SHA1, None, "acme")


def test_no_tenant_is_ever_served_another_tenants_text() -> None:
    rng = random.Random(20261206)
    for _ in range(30):
        tenants = {"".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(1, 6))) for _ in range(rng.randint(1, 12))}
        words = {tenant: f"Only-for-{tenant}-{rng.randrange(10**9)}." for tenant in tenants}
        overrides = {t: _override({"slots": {"tone": w}}) for t, w in words.items() if rng.random() < 0.8}
        resolver = _resolver(overrides)
        asked = list(tenants) + ["nobody", "get", "__dict__"]
        rng.shuffle(asked)
        for tenant in asked:
            text = _text(resolver.get("faq", tenant=tenant))
            others = [w for t, w in words.items() if t != tenant]
            assert not any(w in text for w in others), (tenant, text)
            expected = words[tenant] if tenant in overrides else "Be brief."
            assert text.startswith(expected)


# ---- against a real server -------------------------------------------------------------------------


@pytest.fixture
def demo(tmp_path: Any) -> Iterator[DemoServer]:
    reason = cli_missing()
    if reason is not None:
        pytest.skip(reason)
    server = DemoServer(str(tmp_path))
    try:
        yield server
    finally:
        server.stop()


def test_the_demo_tenants_are_served_their_overrides(demo: DemoServer) -> None:
    client = Client(demo.url, demo.api_key, traces=False).ready(timeout=DEADLINE)
    try:
        shared = client.get(GREETER)
        acme, globex, other = (client.get(GREETER, tenant=t) for t in ("acme", "globex", "initech"))
        assert acme.content["variables"]["user_name"]["default"] == "valued customer"
        assert acme.content["config"]["params"]["temperature"] == 0.1
        assert globex.content["config"]["model"] == "gpt-4o"
        assert acme.base_sha == globex.base_sha == shared.sha
        assert len({acme.sha, globex.sha, shared.sha}) == 3
        assert acme.override_sha is not None and globex.override_sha is not None
        assert (other.sha, other.override_sha) == (shared.sha, None)
        assert client.get(f"{GREETER}@{shared.sha[:12]}", tenant="acme").override_sha is None
    finally:
        client.close()
