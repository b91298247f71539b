"""The cache file is one format for both SDKs: a file the TypeScript SDK wrote serves the Python client,
and one the Python client wrote serves the TypeScript SDK, both verified sha by sha (and a tampered one
is refused by both)."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any, Iterator, List

import pytest

from promptops import Client, PromptopsError
from promptops.cache_file import read_cache_entry

from support import DEADLINE, GREETER, NODE, SDK_DIST, DemoServer, cli_missing

pytestmark = pytest.mark.skipif(
    cli_missing() is not None or not os.path.exists(SDK_DIST), reason=cli_missing() or "packages/sdk/dist is missing"
)

# Loads a client with only a cache file (and a url), prints what it serves and how it started.
NODE_CLIENT = """
const [sdk, url, apiKey, cacheFile, name] = process.argv.slice(1);
const { createClient } = await import(sdk);
const errors = [];
const client = createClient({ url, apiKey, cacheFile, traces: false, snapshotCheckIntervalMs: 0,
  onError: (error) => errors.push(error.code) });
let served = null;
try {
  await client.ready();
  served = client.get(name).sha;
} catch (error) {
  errors.push(error.code);
}
const status = client.status();
await client.close();
console.log(JSON.stringify({ served, snapshotFrom: status.snapshotFrom, errors }));
"""


@pytest.fixture
def demo(tmp_path: Any) -> Iterator[DemoServer]:
    server = DemoServer(str(tmp_path))
    try:
        yield server
    finally:
        server.stop()


def _node_client(url: str, key: str, cache: str) -> Any:
    ran = subprocess.run(
        [NODE or "node", "--input-type=module", "-e", NODE_CLIENT, "file://" + SDK_DIST, url, key, cache, GREETER],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout.strip().splitlines()[-1])


def test_each_sdk_serves_the_cache_file_the_other_wrote(demo: DemoServer, tmp_path: Any) -> None:
    production = demo.label_sha(GREETER, "production")
    from_ts = os.path.join(str(tmp_path), "from-ts.json")
    from_python = os.path.join(str(tmp_path), "from-python.json")
    assert _node_client(demo.url, demo.api_key, from_ts) == {"served": production, "snapshotFrom": "server", "errors": []}
    python = Client(demo.url, demo.api_key, cache_file=from_python, traces=False).ready(timeout=DEADLINE)
    python.close()
    ts_entry = read_cache_entry(from_ts, demo.url)
    assert ts_entry is not None and ts_entry.etag is not None
    assert ts_entry.snapshot.prompts[GREETER].labels["production"] == production
    demo.kill()

    errors: List[PromptopsError] = []
    reader = Client(demo.url, demo.api_key, cache_file=from_ts, on_error=errors.append, traces=False).ready(timeout=DEADLINE)
    try:
        assert reader.status()["snapshot_from"] == "cache" and reader.get(GREETER).sha == production
        assert [e.code for e in errors] == ["server_unreachable"]
    finally:
        reader.close()
    served = _node_client(demo.url, demo.api_key, from_python)
    assert served == {"served": production, "snapshotFrom": "cache", "errors": ["server_unreachable"]}

    doc = json.loads(open(from_python, encoding="utf-8").read())
    version = doc["snapshot"]["prompts"][GREETER]["versions"][production]
    version["content"]["messages"][0]["content"] = "Be rude."
    with open(from_python, "w", encoding="utf-8") as handle:
        json.dump(doc, handle)
    refused = _node_client(demo.url, demo.api_key, from_python)
    assert refused["served"] is None and "sha_mismatch" in refused["errors"] and "nothing_to_serve" in refused["errors"]
    errors.clear()
    with pytest.raises(PromptopsError) as nothing:
        Client(demo.url, demo.api_key, cache_file=from_python, on_error=errors.append, traces=False).ready(timeout=DEADLINE)
    assert nothing.value.code == "nothing_to_serve" and "sha_mismatch" in [e.code for e in errors]
