"""The shared conformance vectors (``conformance/*.json`` at the repository root), one test per vector:
the same files the TypeScript core and SDK run, so a behaviour that differs fails the build."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Tuple

import pytest

from promptops import Client, PromptopsError
from promptops.assignment import assign_arm, assignment_bucket, assignment_input, murmur3_32, rollout_unit_hash, utf8_bytes
from promptops.canonical import canonical_json, content_sha
from promptops.lockfile import js_json_parse, parse_lockfile
from promptops.overrides import effective_prompt, parse_override
from promptops.prompt import prompt_sha, render_prompt, validate_prompt_content
from promptops.refs import parse_name_ref, parse_ref
from promptops.snapshot import resolve_from_snapshot, validate_snapshot
from promptops.targeting import RegexSyntaxError, compile_safe_regex, decide_targeting

from conftest import ROOT

CONFORMANCE = os.path.join(ROOT, "conformance")


def _load(name: str) -> Dict[str, Any]:
    with open(os.path.join(CONFORMANCE, f"{name}.json"), encoding="utf-8") as handle:
        return json.load(handle)


def _cases(file: str, key: str) -> List[Any]:
    vectors = _load(file)[key]
    names = [vector["name"] for vector in vectors]
    assert len(names) == len(set(names)), f"{file}.{key}: vector names must be unique"
    return [pytest.param(vector, id=vector["name"]) for vector in vectors]


def _error_code(call: Any) -> str:
    with pytest.raises(PromptopsError) as caught:
        call()
    return caught.value.code


def test_every_vector_file_is_run() -> None:
    """A new file of vectors must get a runner here, not be silently skipped."""
    run = {"canonical.json", "render.json", "refs.json", "lockfile.json", "snapshot.json", "assignment.json", "overrides.json", "targeting.json"}
    present = {name for name in os.listdir(CONFORMANCE) if name.endswith(".json")}
    assert present <= run, f"vectors without a Python runner: {sorted(present - run)}"


# ---- canonical JSON and sha ------------------------------------------------------------------------


@pytest.mark.parametrize("vector", _cases("canonical", "values"))
def test_canonical_value(vector: Dict[str, Any]) -> None:
    value = js_json_parse(vector["input"])
    assert canonical_json(value) == vector["canonical"]
    assert content_sha(value) == vector["sha"]


@pytest.mark.parametrize("vector", _cases("canonical", "invalidValues"))
def test_canonical_invalid_value(vector: Dict[str, Any]) -> None:
    value = js_json_parse(vector["input"])
    assert _error_code(lambda: canonical_json(value)) == vector["error"]["code"]


@pytest.mark.parametrize("vector", _cases("canonical", "contents"))
def test_canonical_content(vector: Dict[str, Any]) -> None:
    content = validate_prompt_content(js_json_parse(vector["input"]))
    assert canonical_json(content) == vector["canonical"]
    assert prompt_sha(content) == vector["sha"]


@pytest.mark.parametrize("vector", _cases("canonical", "invalidContents"))
def test_canonical_invalid_content(vector: Dict[str, Any]) -> None:
    value = js_json_parse(vector["input"])
    assert _error_code(lambda: validate_prompt_content(value)) == vector["error"]["code"]


# ---- rendering -------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", _cases("render", "cases"))
def test_render(vector: Dict[str, Any]) -> None:
    assert render_prompt(vector["content"], vector["variables"]) == vector["expected"]


@pytest.mark.parametrize("vector", _cases("render", "errors"))
def test_render_error(vector: Dict[str, Any]) -> None:
    assert _error_code(lambda: render_prompt(vector["content"], vector["variables"])) == vector["error"]["code"]


# ---- refs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", _cases("refs", "nameRefs"))
def test_name_ref(vector: Dict[str, Any]) -> None:
    call = lambda: parse_name_ref(vector["input"], vector.get("defaultRef"))  # noqa: E731
    if "error" in vector:
        assert _error_code(call) == vector["error"]["code"]
        return
    name, ref = call()
    assert {"name": name, "ref": ref} == vector["expected"]


@pytest.mark.parametrize("vector", _cases("refs", "refs"))
def test_ref(vector: Dict[str, Any]) -> None:
    if "error" in vector:
        assert _error_code(lambda: parse_ref(vector["input"])) == vector["error"]["code"]
        return
    assert parse_ref(vector["input"]) == vector["expected"]


# ---- lockfile --------------------------------------------------------------------------------------


def _offline_client(**options: Any) -> Client:
    """A client that never reaches a server (port 9, discard): only what it is given can answer."""
    return Client("http://127.0.0.1:9", "po_test", snapshot_check_interval_ms=0, traces=False, **options)


def _check_resolutions(client: Client, resolutions: List[Dict[str, Any]]) -> None:
    for resolution in resolutions:
        get = resolution["get"]
        label = get.get("label", "production")
        if "error" in resolution:
            code = _error_code(lambda: client.get(get["name"], label=label))
            assert code == resolution["error"]["code"], f"get {get}"
            continue
        prompt = client.get(get["name"], label=label)
        served = {"name": prompt.name, "version": prompt.version, "sha": prompt.sha, "label": prompt.label, "source": prompt.source}
        assert served == resolution["expected"], f"get {get}"


@pytest.mark.parametrize("vector", _cases("lockfile", "valid"))
def test_lockfile_valid(vector: Dict[str, Any]) -> None:
    lock = parse_lockfile(vector["text"])
    expected = vector["expected"]
    assert lock["releaseSha"] == expected["releaseSha"]
    summary = {
        name: {"sha": entry["sha"], "version": entry["version"], "label": entry["label"], "embedded": entry.get("content") is not None}
        for name, entry in lock["prompts"].items()
    }
    assert summary == expected["prompts"]
    _check_resolutions(_offline_client(fallback_lockfile=lock), vector["resolutions"])


@pytest.mark.parametrize("vector", _cases("lockfile", "invalid"))
def test_lockfile_invalid(vector: Dict[str, Any]) -> None:
    assert _error_code(lambda: parse_lockfile(vector["text"])) == vector["error"]["code"]


# ---- snapshot + change feed ------------------------------------------------------------------------


def _client_on(snapshot_text: str, lockfile_text: Any) -> Client:
    """A client whose server answers the snapshot request with ``snapshot_text``; events are then fed
    to it exactly as its stream reader does."""
    options: Dict[str, Any] = {}
    if lockfile_text is not None:
        options["fallback_lockfile"] = parse_lockfile(lockfile_text)
    client = _offline_client(**options)

    def answer(path: str, etag: Any, timeout_ms: Any = None) -> Tuple[Any, Any]:
        return json.loads(snapshot_text), None

    client._http.revalidate = answer  # type: ignore[method-assign]
    client._sync_snapshot()
    client._resolver.loaded = True
    return client


@pytest.mark.parametrize("vector", _cases("snapshot", "sequences"))
def test_snapshot_sequence(vector: Dict[str, Any]) -> None:
    client = _client_on(vector["snapshot"], vector.get("lockfile"))
    assert client.status()["cursor"] == vector["cursor"]
    _check_resolutions(client, vector["expect"])
    for step in vector["steps"]:
        if "error" in step:
            code = _error_code(lambda: client._handle_event(step["event"], "stream"))
            assert code == step["error"]["code"], step["note"]
        else:
            client._handle_event(step["event"], "stream")
        assert client.status()["cursor"] == step["cursor"], step["note"]
        _check_resolutions(client, step["expect"])


@pytest.mark.parametrize("vector", _cases("snapshot", "invalidSnapshots"))
def test_snapshot_invalid(vector: Dict[str, Any]) -> None:
    client = _offline_client()
    client._http.revalidate = lambda path, etag, timeout_ms=None: (json.loads(vector["snapshot"]), None)  # type: ignore[method-assign]
    assert _error_code(client._sync_snapshot) == vector["error"]["code"]
    assert client.status()["cursor"] == 0


def _check_rollout_resolutions(client: Client, resolutions: List[Dict[str, Any]], note: str) -> None:
    for resolution in resolutions:
        get = resolution["get"]
        call = lambda: client.get(get["name"], label=get.get("label", "production"), unit_key=get.get("unitKey"))  # noqa: E731
        if "error" in resolution:
            assert _error_code(call) == resolution["error"]["code"], f"{note}: get {get}"
            continue
        prompt = call()
        shadow = prompt.shadow
        served = {
            "name": prompt.name,
            "version": prompt.version,
            "sha": prompt.sha,
            "label": prompt.label,
            "source": prompt.source,
            "variant": prompt.variant,
            "rolloutId": prompt.rollout_id,
            "shadow": None if shadow is None else {"rolloutId": shadow.rollout_id, "version": shadow.version, "sha": shadow.sha},
        }
        assert served == resolution["expected"], f"{note}: get {get}"


@pytest.mark.parametrize("vector", _cases("snapshot", "rolloutSequences"))
def test_rollout_sequence(vector: Dict[str, Any]) -> None:
    client = _client_on(vector["snapshot"], None)
    assert client.status()["cursor"] == vector["cursor"]
    _check_rollout_resolutions(client, vector["expect"], "snapshot")
    for step in vector["steps"]:
        if "error" in step:
            code = _error_code(lambda: client._handle_event(step["event"], "stream"))
            assert code == step["error"]["code"], step["note"]
        else:
            client._handle_event(step["event"], "stream")
        assert client.status()["cursor"] == step["cursor"], step["note"]
        _check_rollout_resolutions(client, step["expect"], step["note"])


@pytest.mark.parametrize("vector", _cases("snapshot", "invalidRolloutSnapshots"))
def test_rollout_snapshot_invalid(vector: Dict[str, Any]) -> None:
    client = _offline_client()
    client._http.revalidate = lambda path, etag, timeout_ms=None: (json.loads(vector["snapshot"]), None)  # type: ignore[method-assign]
    assert _error_code(client._sync_snapshot) == vector["error"]["code"]


# ---- rollout assignment ----------------------------------------------------------------------------


@pytest.mark.parametrize("vector", _cases("assignment", "hashes"))
def test_assignment_hash(vector: Dict[str, Any]) -> None:
    data = utf8_bytes(vector["input"])
    assert data.hex() == vector["utf8"]
    assert murmur3_32(data) == vector["hash"]


@pytest.mark.parametrize("vector", _cases("assignment", "units"))
def test_assignment_unit(vector: Dict[str, Any]) -> None:
    unit_key = vector["unitKey"]
    if unit_key:
        assert assignment_input(vector["salt"], unit_key) == vector["hashed"]
        assert assignment_bucket(vector["salt"], unit_key) == vector["bucket"]
    for expected in vector["arms"]:
        got = assign_arm(vector["salt"], unit_key, expected["ramp"])
        assert (got.arm, got.bucket) == (expected["arm"], vector["bucket"]), f"ramp {expected['ramp']}"


@pytest.mark.parametrize("vector", _cases("assignment", "invalidRamps"))
def test_assignment_invalid_ramp(vector: Dict[str, Any]) -> None:
    assert _error_code(lambda: assign_arm("ro_01hx7k", "user-42", vector["ramp"])) == vector["error"]["code"]


@pytest.mark.parametrize("vector", _cases("assignment", "unitHashes"))
def test_rollout_unit_hash(vector: Dict[str, Any]) -> None:
    assert f"{vector['rolloutId']}:{vector['unitKey']}" == vector["hashed"]
    assert rollout_unit_hash(vector["rolloutId"], vector["unitKey"]) == vector["unitHash"]


# ---- tenant overrides ------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", _cases("overrides", "effective"))
def test_override_effective(vector: Dict[str, Any]) -> None:
    result = effective_prompt(vector["base"], parse_override(js_json_parse(vector["override"])))
    assert result == vector["expected"]
    assert content_sha(result["content"]) == vector["expected"]["sha"]


@pytest.mark.parametrize("vector", _cases("overrides", "refused"))
def test_override_refused(vector: Dict[str, Any]) -> None:
    value = js_json_parse(vector["override"])
    assert _error_code(lambda: effective_prompt(vector["base"], parse_override(value))) == vector["error"]["code"]


# ---- targeting rules -------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", _cases("targeting", "patterns"))
def test_targeting_pattern(vector: Dict[str, Any]) -> None:
    regex = compile_safe_regex(vector["pattern"])
    for case in vector["cases"]:
        assert regex.test(case["text"]) == case["matches"], repr(case["text"])


@pytest.mark.parametrize("vector", _cases("targeting", "invalidPatterns"))
def test_targeting_pattern_refused(vector: Dict[str, Any]) -> None:
    with pytest.raises(RegexSyntaxError):
        compile_safe_regex(vector["pattern"])


@pytest.mark.parametrize("vector", _cases("targeting", "decisions"))
def test_targeting_decision(vector: Dict[str, Any]) -> None:
    rules = _load("targeting")["rules"]
    r = vector["rollout"]
    out = decide_targeting(r["salt"], r["ramp"], rules, False, vector["unitKey"], vector["context"])
    assert out._asdict() == vector["expected"]


@pytest.mark.parametrize("vector", _cases("targeting", "resolutions"))
def test_targeting_resolution(vector: Dict[str, Any]) -> None:
    snapshot = validate_snapshot(js_json_parse(vector["snapshot"]), "vector")
    get = vector["get"]
    r = resolve_from_snapshot(snapshot, get["name"], label=get.get("label"), unit_key=get["unitKey"], context=get["context"])
    assert r is not None
    got = {
        "version": r.version,
        "sha": r.sha,
        "label": r.label,
        "variant": r.variant,
        "rolloutId": r.rollout_id,
        "shadowSha": None if r.shadow is None else r.shadow.sha,
        "rule": r.rule,
    }
    assert got == vector["expected"]


@pytest.mark.parametrize("vector", _cases("targeting", "labelResolutions"))
def test_label_rules_resolution(vector: Dict[str, Any]) -> None:
    """Rules on the label itself (tried before its rollout), through core's resolution and the client."""
    snapshot = validate_snapshot(js_json_parse(vector["snapshot"]), "vector")
    get, expected = vector["get"], vector["expected"]
    r = resolve_from_snapshot(snapshot, get["name"], label=get.get("label"), unit_key=get["unitKey"], context=get["context"])
    assert r is not None
    got = {
        "version": r.version,
        "sha": r.sha,
        "label": r.label,
        "variant": r.variant,
        "rolloutId": r.rollout_id,
        "shadowSha": None if r.shadow is None else r.shadow.sha,
        "rule": r.rule,
        "labelRule": r.label_rule,
    }
    assert got == expected
    client = _client_on(vector["snapshot"], None)
    for _ in range(2):
        served = client.get(get["name"], unit_key=get["unitKey"], context=get["context"])
        assert (served.sha, served.variant, served.label, served.rollout_id) == (
            expected["sha"],
            expected["variant"],
            expected["label"],
            expected["rolloutId"],
        )


@pytest.mark.parametrize("vector", _cases("targeting", "resolutions"))
def test_targeting_through_the_client(vector: Dict[str, Any]) -> None:
    """The client's get(unit_key=..., context=...) serves what the vector says, cache included."""
    client = _client_on(vector["snapshot"], None)
    get, expected = vector["get"], vector["expected"]
    for _ in range(2):
        got = client.get(get["name"], unit_key=get["unitKey"], context=get["context"])
        assert (got.sha, got.variant, got.label, got.rollout_id) == (
            expected["sha"],
            expected["variant"],
            expected["label"],
            expected["rolloutId"],
        )
