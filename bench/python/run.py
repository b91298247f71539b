"""bench/python: the Python SDK's ``client.get(name)`` beside a plain dict lookup, the same lookup wrapped
in a function call, and the TypeScript SDK's ``get`` measured in the same run against the same server;
then label move -> Python client applied.

    npm run build && /usr/bin/python3 bench/python/run.py

``BENCH_ROUNDS`` (5) and ``BENCH_BATCHES`` (200 per round: 1,000,000 calls per subject with the
defaults), ``BENCH_MOVES`` (50). Prints figures and ratios; asserts nothing.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from typing import Any, Callable, Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "packages", "python", "src"))

from promptops import Client  # noqa: E402

CLI = os.path.join(ROOT, "packages", "cli", "dist", "bin.js")
SDK = os.path.join(ROOT, "packages", "sdk", "dist", "index.js")
NAME = "customer_support_greeter"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
BATCHES = int(os.environ.get("BENCH_BATCHES", "200"))
MOVES = int(os.environ.get("BENCH_MOVES", "50"))
BATCH = 1000


class Server:
    """``promptops serve --demo --port 0`` from the built CLI, in a temporary directory."""

    def __init__(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="promptops-bench-python-")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTOPS_")}
        env["NO_COLOR"] = "1"
        self.process = subprocess.Popen(
            ["node", CLI, "serve", "--demo", "--port", "0"], cwd=self.directory, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert self.process.stdout is not None
        self.url = ""
        for line in self.process.stdout:
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                self.url = found.group(1)
                break
        if not self.url:
            raise SystemExit(f"serve --demo did not start (exit {self.process.wait()})")
        threading.Thread(target=lambda: [None for _ in self.process.stdout or []], daemon=True).start()
        with open(os.path.join(self.directory, ".promptops", "credentials.json"), encoding="utf-8") as handle:
            self.key = json.load(handle)["apiKey"]

    def call(self, method: str, path: str, body: Any) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("authorization", f"Bearer {self.key}")
        if data is not None:
            request.add_header("content-type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        shutil.rmtree(self.directory, ignore_errors=True)


def quantile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def resolution(client: Client) -> Dict[str, Dict[str, float]]:
    """Batches of 1,000 calls timed with perf_counter_ns, in interleaved rounds so noise hits all alike."""
    table = {NAME: client.get(NAME)}
    get = client.get

    def loop_only() -> float:
        start = time.perf_counter_ns()
        for _ in range(BATCH):
            pass
        return (time.perf_counter_ns() - start) / BATCH

    def dict_inline() -> float:
        t = table
        start = time.perf_counter_ns()
        for _ in range(BATCH):
            t[NAME]
        return (time.perf_counter_ns() - start) / BATCH

    def lookup(name: str) -> Any:
        return table[name]

    def dict_wrapped() -> float:
        start = time.perf_counter_ns()
        for _ in range(BATCH):
            lookup(NAME)
        return (time.perf_counter_ns() - start) / BATCH

    def client_get() -> float:
        start = time.perf_counter_ns()
        for _ in range(BATCH):
            client.get(NAME)
        return (time.perf_counter_ns() - start) / BATCH

    def client_get_options() -> float:
        start = time.perf_counter_ns()
        for _ in range(BATCH):
            get(NAME, label="production", unit_key="user-1234")
        return (time.perf_counter_ns() - start) / BATCH

    vars_ = {"user_name": "Ada", "question": "Where is my order?"}

    def get_render() -> float:
        start = time.perf_counter_ns()
        for _ in range(BATCH // 100):
            client.get(NAME).render(vars_)
        return (time.perf_counter_ns() - start) / (BATCH // 100)

    subjects: List[Tuple[str, Callable[[], float], int]] = [
        ("empty loop (the loop's own cost)", loop_only, BATCHES),
        ("dict[name] (plain dict lookup)", dict_inline, BATCHES),
        ("lookup(name): dict lookup in a function (floor)", dict_wrapped, BATCHES),
        ("client.get(name)", client_get, BATCHES),
        ("client.get(name, label=, unit_key=)", client_get_options, BATCHES),
        ("client.get(name).render(vars)", get_render, max(1, BATCHES // 10)),
    ]
    samples: Dict[str, List[float]] = {name: [] for name, _, _ in subjects}
    for _, run, _ in subjects:
        for _ in range(20):
            run()  # warm up
    for _ in range(ROUNDS):
        for name, run, batches in subjects:
            for _ in range(batches):
                samples[name].append(run())
    return {
        name: {"p50": quantile(values, 0.5), "p99": quantile(values, 0.99), "calls": len(values) * (BATCH // 100 if "render" in name else BATCH)}
        for name, values in samples.items()
    }


def typescript(server: Server) -> Dict[str, Any]:
    ran = subprocess.run(
        ["node", os.path.join(HERE, "ts-get.mjs"), "file://" + SDK, server.url, server.key, NAME, str(ROUNDS), str(BATCHES)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if ran.returncode != 0:
        raise SystemExit(f"ts-get.mjs failed:\n{ran.stderr}")
    return json.loads(ran.stdout.strip().splitlines()[-1])


def propagation(server: Server, client: Client) -> Tuple[List[float], List[float]]:
    """Label moves through the API: rollbacks between two versions production held before through its
    policy (the demo's production is protected; those moves it allows); per move, request sent ->
    applied and response read -> applied (0 when the client had it first)."""
    applied: Dict[str, float] = {}
    moved = threading.Event()

    def on_change(change: Dict[str, Any]) -> None:
        if change["name"] == NAME and change["label"] == "production":
            applied[change["sha"]] = time.perf_counter()
            moved.set()

    client.on("change", on_change)
    deadline = time.monotonic() + 30
    while not client.status()["connected"] and time.monotonic() < deadline:
        time.sleep(0.01)
    options = server.call("GET", f"/api/v1/prompts/{NAME}/deployments?label=production", None)["rollback"]
    targets = next(option["targets"] for option in options if option["label"] == "production")
    versions = [f"v{target['version']}" for target in targets[:2]]
    if len(versions) < 2:
        raise SystemExit(f"production has fewer than two rollback targets: {targets}")
    from_sent: List[float] = []
    from_returned: List[float] = []
    for move in range(MOVES):
        target = versions[move % 2]
        applied.clear()
        moved.clear()
        sent = time.perf_counter()
        answer = server.call("POST", f"/api/v1/prompts/{NAME}/labels/production/rollback", {"to": target, "reason": "bench"})
        returned = time.perf_counter()
        sha = answer["label"]["sha"]
        wait_until = time.monotonic() + 10
        while sha not in applied:
            if not moved.wait(max(0.0, wait_until - time.monotonic())):
                raise SystemExit(f"move {move}: the client did not apply {target} within 10 s")
            moved.clear()
        assert client.get(NAME).sha == sha
        from_sent.append((applied[sha] - sent) * 1000)
        from_returned.append(max(0.0, (applied[sha] - returned) * 1000))
    return sorted(from_sent), sorted(from_returned)


def main() -> None:
    for path in (CLI, SDK):
        if not os.path.exists(path):
            raise SystemExit(f"{path} is missing: run `npm run build` first")
    server = Server()
    try:
        cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
        node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
        print(f"bench/python on {os.cpu_count()} x {cpu}, Python {platform.python_version()}, Node {node}")
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        client = Client(server.url, server.key, traces=False).ready(timeout=30)
        figures = resolution(client)
        ts = typescript(server)
        floor = figures["lookup(name): dict lookup in a function (floor)"]["p50"]
        loop = figures["empty loop (the loop's own cost)"]["p50"]

        print(f"\nresolution: batches of {BATCH} calls, {ROUNDS} interleaved rounds; ns per call (batch p50 / p99)")
        print(f"{'subject':52} {'p50':>9} {'p99':>9} {'calls':>10} {'x floor':>8}")
        for name, value in figures.items():
            ratio = value["p50"] / floor
            print(f"{'python ' + name:52} {value['p50']:9.1f} {value['p99']:9.1f} {value['calls']:10,} {ratio:8.2f}")
        ts_floor = ts["results"]["Map.get in a function (floor)"]["p50"]
        for name, value in ts["results"].items():
            print(f"{'typescript ' + name:52} {value['p50']:9.1f} {value['p99']:9.1f} {value['calls']:10,} {value['p50'] / ts_floor:8.2f}")

        get = figures["client.get(name)"]["p50"]
        print(f"\nclient.get(name) / dict lookup in a function: {get / floor:.2f}x (target <= 3x)")
        print(f"the same, net of the loop's own {loop:.1f} ns: {(get - loop) / max(floor - loop, 1e-9):.2f}x")
        print(f"client.get(name) / plain dict[name]: {get / figures['dict[name] (plain dict lookup)']['p50']:.2f}x")
        print(f"Python client.get / TypeScript client.get ({node}): {get / ts['results']['client.get(name)']['p50']:.1f}x")

        from_sent, from_returned = propagation(server, client)
        print(f"\nlabel move -> Python client applied ({MOVES} moves, SSE, loopback):")
        print(f"  from the API request sent:   p50 {statistics.median(from_sent):6.1f} ms, p99 {quantile(from_sent, 0.99):6.1f} ms, max {from_sent[-1]:6.1f} ms")
        print(f"  from the API response read:  p50 {statistics.median(from_returned):6.1f} ms, p99 {quantile(from_returned, 0.99):6.1f} ms (target p50 < 50 ms)")
        client.close()
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
