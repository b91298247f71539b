"""A label_rules event from the feed sets, then clears, a label's own targeting rules in the snapshot."""

from __future__ import annotations

from typing import Any, Dict

from promptops import content_sha
from promptops.resolver import Resolver
from promptops.snapshot import apply_label_rules_event, ingest_label_rules, parse_feed_event, validate_snapshot

V1: Dict[str, Any] = {"name": "faq", "type": "text", "config": {}, "variables": {}, "slots": {}, "template": "Q one"}
V2: Dict[str, Any] = {"name": "faq", "type": "text", "config": {}, "variables": {}, "slots": {}, "template": "Q two"}
SHA1, SHA2 = content_sha(V1), content_sha(V2)
RULE = {"name": "acme on staging", "when": [{"attribute": "tenant", "op": "in", "values": ["acme"]}], "serve": {"label": "staging"}}


def _resolver() -> Resolver:
    versions = {SHA1: {"version": 1, "sha": SHA1, "content": V1}, SHA2: {"version": 2, "sha": SHA2, "content": V2}}
    snapshot = {"project": "p", "cursor": 5, "prompts": {"faq": {"labels": {"production": SHA1, "staging": SHA2}, "versions": versions}}}
    resolver = Resolver()
    resolver.set_snapshot(validate_snapshot(snapshot, "test"))
    return resolver


def _apply(resolver: Resolver, data: Dict[str, Any]) -> None:
    event = parse_feed_event(data)
    rules = None if event.rules is None else ingest_label_rules(event.name, event.label, event.rules, "test")
    resolver.update_snapshot(apply_label_rules_event(resolver.snapshot, event, rules), event.name)


def test_a_label_rules_event_sets_then_clears_the_rules() -> None:
    resolver = _resolver()
    acme = {"tenant": "acme"}
    assert resolver.get("faq", context=acme).sha == SHA1
    _apply(resolver, {"type": "label_rules", "seq": 6, "name": "faq", "label": "production", "rules": [RULE]})
    assert resolver.get("faq", context=acme).sha == SHA2
    assert resolver.get("faq", context={"tenant": "globex"}).sha == SHA1
    assert resolver.snapshot.prompts["faq"].labels == {"production": SHA1, "staging": SHA2}
    _apply(resolver, {"type": "label_rules", "seq": 7, "name": "faq", "label": "production", "rules": None})
    assert resolver.get("faq", context=acme).sha == SHA1
    assert resolver.snapshot.cursor == 7
    # An event the snapshot already holds changes nothing.
    _apply(resolver, {"type": "label_rules", "seq": 6, "name": "faq", "label": "production", "rules": [RULE]})
    assert resolver.get("faq", context=acme).sha == SHA1
