"""A scripted stand-in for the promptops server, for behaviour a real one does not show on demand
(dropped and silent streams, 503s, Retry-After, 304s). Each route's answer is a function the test sets."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Tuple

from promptops.prompt import prompt_sha


def text_content(name: str, template: str) -> Dict[str, Any]:
    return {"name": name, "type": "text", "config": {"params": {}, "model": "m"}, "variables": {}, "slots": {}, "template": template}


def version(name: str, number: int, template: str) -> Dict[str, Any]:
    content = text_content(name, template)
    return {"version": number, "sha": prompt_sha(content), "content": content}


def snapshot(cursor: int, name: str, labels: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    versions = {v["sha"]: v for v in labels.values()}
    return {"project": "p", "cursor": cursor, "prompts": {name: {"labels": {k: v["sha"] for k, v in labels.items()}, "versions": versions}}}


def label_event(seq: int, name: str, label: str, v: Dict[str, Any], kind: str = "promote") -> str:
    return json.dumps({"type": "label", "seq": seq, "name": name, "label": label, "sha": v["sha"], "version": v["version"], "kind": kind, "content": v["content"]})


class Request:
    def __init__(self, method: str, path: str, headers: Dict[str, str], body: bytes) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


class Handler(BaseHTTPRequestHandler):
    server: "FakeServer"  # type: ignore[assignment]

    def log_message(self, *_: Any) -> None:
        pass

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(method, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        fake = self.server
        with fake.lock:
            fake.requests.append(request)
            fake.changed.notify_all()
        route = self.path.split("?")[0]
        handler = fake.routes.get((method, route))
        if handler is None:
            return self.answer(404, {"error": {"code": "not_found", "message": "no route"}})
        handler(self, request)

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def answer(self, status: int, body: Any = None, headers: Optional[Dict[str, str]] = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if status != 304:
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
        self.end_headers()
        if data and status != 304:
            self.wfile.write(data)

    def open_stream(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()

    def send_event(self, event: str, data: str, event_id: Optional[int] = None) -> None:
        text = (f"id: {event_id}\n" if event_id is not None else "") + f"event: {event}\ndata: {data}\n\n"
        self.wfile.write(text.encode())
        self.wfile.flush()


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: List[Request] = []
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.routes: Dict[Tuple[str, str], Callable[[Handler, Request], None]] = {}
        self.release = threading.Event()
        """Set to end every stream the test holds open."""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def route(self, method: str, path: str, handler: Callable[[Handler, Request], None]) -> None:
        self.routes[(method, path)] = handler

    def seen(self, method: str, path: str) -> List[Request]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path.split("?")[0] == path]

    def hold(self, timeout: float = 60) -> None:
        """Keeps a stream open until ``release`` is set (or the deadline)."""
        self.release.wait(timeout)

    def close(self) -> None:
        self.release.set()
        self.shutdown()
        self.server_close()
