"""A real promptops server for the integration tests: ``promptops serve --demo --port 0`` from the built
CLI, in a temporary directory, with its admin key read from ``.promptops/credentials.json``."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Dict, List, Optional

from conftest import ROOT

CLI = os.path.join(ROOT, "packages", "cli", "dist", "bin.js")
SDK_DIST = os.path.join(ROOT, "packages", "sdk", "dist", "index.js")
NODE = shutil.which("node")
GREETER = "customer_support_greeter"

# A busy two-core CI box: generous deadlines; every wait ends as soon as its condition holds.
DEADLINE = 60.0


def cli_missing() -> Optional[str]:
    if NODE is None:
        return "node is not installed"
    if not os.path.exists(CLI):
        return f"{CLI} is missing: build first (npm run build)"
    return None


def wait_for(condition: Callable[[], Any], timeout: float = DEADLINE, what: str = "the condition", wake: Optional[threading.Event] = None) -> Any:
    """Waits until ``condition()`` is truthy (returns it), re-checking when ``wake`` is set or every 20 ms;
    fails after ``timeout`` seconds. Never a fixed sleep: it returns as soon as the condition holds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        if wake is not None:
            wake.wait(min(left, 0.02))
            wake.clear()
        else:
            time.sleep(min(left, 0.02))


def _env() -> Dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("PROMPTOPS_") and name != "FORCE_COLOR"}
    env["NO_COLOR"] = "1"
    return env


class DemoServer:
    """One ``serve --demo`` process."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.process = subprocess.Popen(
            [NODE or "node", CLI, "serve", "--demo", "--port", "0"],
            cwd=directory,
            env=_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines: "queue.Queue[Optional[str]]" = queue.Queue()
        self.output: List[str] = []

        def pump() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.output.append(line)
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + DEADLINE
        self.url = ""
        while not self.url:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                raise AssertionError("serve --demo did not start:\n" + "".join(self.output)) from None
            if line is None:
                raise AssertionError(f"serve --demo exited {self.process.wait()}:\n" + "".join(self.output))
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                self.url = found.group(1)
        with open(os.path.join(directory, ".promptops", "credentials.json"), encoding="utf-8") as handle:
            self.api_key: str = json.load(handle)["apiKey"]

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("authorization", f"Bearer {self.api_key}")
        if data is not None:
            request.add_header("content-type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{method} {path}: {error.code} {error.read()[:500]!r}") from None

    def label_sha(self, name: str, label: str) -> str:
        return self.request("GET", "/api/v1/snapshot")["prompts"][name]["labels"][label]

    def rollback(self, name: str, label: str = "production") -> Any:
        return self.request("POST", f"/api/v1/prompts/{name}/labels/{label}/rollback", {"reason": "python sdk test"})

    def promote(self, name: str, ref: str, label: str = "production") -> Any:
        return self.request("PUT", f"/api/v1/prompts/{name}/labels/{label}", {"ref": ref, "reason": "python sdk test"})

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([NODE or "node", CLI, *args], cwd=self.directory, env=_env(), capture_output=True, text=True, timeout=120)

    def kill(self) -> None:
        """SIGKILL: the server dies without closing its connections gracefully."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=DEADLINE)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
