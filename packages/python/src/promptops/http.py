"""The few requests the client makes, over the standard library's ``http.client``: the key on every
request, timeouts, the server's errors as PromptopsErrors, gzip and conditional snapshot requests, and a
streaming GET whose blocked read another thread can cut (``abort``)."""

from __future__ import annotations

import errno
import gzip
import http.client
import json
import socket
import ssl
import threading
import zlib
from typing import Any, Callable, Dict, Mapping, NamedTuple, Optional, Set, Tuple
from urllib.parse import urlsplit

from .errors import ERROR_KINDS, PromptopsError

__all__ = ["Http", "PostResult", "http_error", "normalize_url", "ACCEPT_ENCODING"]

# The standard library decodes gzip; brotli would need a package, so it is not asked for.
ACCEPT_ENCODING = "gzip"
USER_AGENT = "promptops-python"

_KIND_BY_STATUS = {400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict", 413: "too_large", 422: "unprocessable"}


def kind_for_status(status: int) -> str:
    return _KIND_BY_STATUS.get(status, "internal")


def http_error(status: int, text: str, what: str) -> PromptopsError:
    """The server's ``{error: {code, message, fix}}`` as a PromptopsError; anything else by status."""
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error["code"] if isinstance(error.get("code"), str) else f"http_{status}"
    message = error["message"] if isinstance(error.get("message"), str) else (text[:200] or f"HTTP {status}")
    kind = error["kind"] if error.get("kind") in ERROR_KINDS else kind_for_status(status)
    fix = error["fix"] if isinstance(error.get("fix"), str) else None
    return PromptopsError(kind, code, f"{what}: {message}", details={"status": status}, fix=fix)


def normalize_url(text: Any) -> str:
    """``http(s)://host[:port][/path]`` without a trailing slash; ``invalid_options`` otherwise."""
    parts = urlsplit(text) if isinstance(text, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise PromptopsError(
            "invalid",
            "invalid_options",
            f"Client: url {json.dumps(text) if isinstance(text, str) else repr(text)} is not an http(s) URL",
            fix="pass the server URL, e.g. http://127.0.0.1:4680",
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")


class PostResult(NamedTuple):
    status: int
    retry_after: Optional[str]
    text: str


def _looks_like_json(data: bytes) -> bool:
    for byte in data:
        if byte in (0x7B, 0x5B):
            return True
        if byte not in (0x20, 0x0A, 0x0D, 0x09):
            return False
    return False


def _decode_body(data: bytes, coding: Optional[str]) -> str:
    coding = (coding or "").strip().lower()
    if coding == "gzip" and not _looks_like_json(data):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise PromptopsError("internal", "invalid_response", f"the gzip-encoded answer does not decode: {error}") from None
    return data.decode("utf-8", "replace")


class _Closed(Exception):
    pass


class Stream:
    """An open streaming response: ``read()`` returns the next bytes (b"" at the end); ``abort()`` from
    any thread ends a blocked read (the socket is shut down: the read returns at once)."""

    def __init__(self, connection: http.client.HTTPConnection, sock: Optional[socket.socket], response: http.client.HTTPResponse) -> None:
        self._connection = connection
        self._sock = sock
        self._response = response
        self._aborted = False

    def read(self) -> bytes:
        if self._aborted:
            return b""
        return self._response.read1(65536)

    def abort(self) -> None:
        self._aborted = True
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.abort()
        try:
            self._response.close()
            self._connection.close()
        except OSError:
            pass


class Http:
    """Requests to one server with one key. ``on_success`` hears every 2xx (the follow loop's wake-up)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout_ms: float,
        on_success: Optional[Callable[[], None]] = None,
    ) -> None:
        self.base_url = base_url
        self._api_key = api_key
        self._timeout_ms = timeout_ms
        self._on_success = on_success
        parts = urlsplit(base_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._active: Set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False

    # ---- plumbing ----------------------------------------------------------------------------------

    def _connection(self, timeout_s: float) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout_s, context=ssl.create_default_context())
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout_s)

    def _headers(self, extra: Mapping[str, str]) -> Dict[str, str]:
        headers = {"authorization": f"Bearer {self._api_key}", "user-agent": USER_AGENT}
        headers.update(extra)
        return headers

    def _failure(self, error: BaseException, method: str, path: str, timeout_ms: float) -> PromptopsError:
        if isinstance(error, PromptopsError):
            return error
        if self._closed or isinstance(error, _Closed):
            return PromptopsError("internal", "client_closed", "the client was closed")
        if isinstance(error, socket.timeout):
            return PromptopsError(
                "internal",
                "server_timeout",
                f"{method} {self.base_url}{path} did not answer within {round(timeout_ms)} ms",
                fix="check the server; the client keeps serving what it has and retries",
            )
        cause: Optional[str] = None
        if isinstance(error, socket.gaierror):
            cause = "ENOTFOUND"
        elif isinstance(error, OSError) and error.errno is not None:
            cause = errno.errorcode.get(error.errno)
        elif isinstance(error, (http.client.RemoteDisconnected, ConnectionResetError)):
            cause = "ECONNRESET"
        message = str(error) or type(error).__name__
        return PromptopsError(
            "internal",
            "server_unreachable",
            f"cannot reach {self.base_url} ({method} {path}): {message}",
            fix="check the url and that the promptops server is running; the client keeps serving what it has and retries",
            details=None if cause is None else {"cause": cause},
        )

    def _request(
        self, method: str, path: str, headers: Mapping[str, str], body: Optional[bytes], timeout_ms: float
    ) -> Tuple[int, http.client.HTTPMessage, bytes]:
        if self._closed:
            raise _Closed()
        connection = self._connection(timeout_ms / 1000)
        sock = self._open(connection)
        try:
            connection.request(method, self._prefix + path, body=body, headers=self._headers(headers))
            response = connection.getresponse()
            data = response.read()
            if self._closed:
                raise _Closed()
            return response.status, response.headers, data
        finally:
            self._done(sock)
            connection.close()

    def _open(self, connection: http.client.HTTPConnection) -> Optional[socket.socket]:
        """Connects, and registers the socket so that ``close()`` can cut the request."""
        connection.connect()
        sock = connection.sock
        with self._lock:
            if sock is not None:
                self._active.add(sock)
        if self._closed:
            self._done(sock)
            connection.close()
            raise _Closed()
        return sock

    def _done(self, sock: Optional[socket.socket]) -> None:
        with self._lock:
            self._active.discard(sock)  # type: ignore[arg-type]

    def _succeeded(self, status: int) -> None:
        if 200 <= status < 300 and self._on_success is not None:
            try:
                self._on_success()
            except Exception:  # noqa: BLE001 - a wake-up must never fail a request
                pass

    # ---- requests ----------------------------------------------------------------------------------

    def json(self, path: str, timeout_ms: Optional[float] = None) -> Any:
        """GET a JSON document; raises PromptopsError (``server_unreachable``, ``server_timeout`` or the server's)."""
        timeout = self._timeout_ms if timeout_ms is None else timeout_ms
        try:
            status, headers, data = self._request("GET", path, {"accept": "application/json"}, None, timeout)
        except BaseException as error:  # noqa: BLE001
            raise self._failure(error, "GET", path, timeout) from None
        text = data.decode("utf-8", "replace")
        if not 200 <= status < 300:
            raise http_error(status, text, f"GET {path}")
        self._succeeded(status)
        try:
            return json.loads(text)
        except ValueError:
            raise PromptopsError(
                "internal",
                "invalid_response",
                f"GET {path}: the server answered with invalid JSON",
                fix=f"check that {self.base_url} is a promptops server",
            ) from None

    def revalidate(self, path: str, etag: Optional[str], timeout_ms: Optional[float] = None) -> Optional[Tuple[Any, Optional[str]]]:
        """GET a JSON document, gzip-compressed when the server can, conditional when ``etag`` is given:
        None when the server answers 304 (what the caller holds is current), else ``(data, etag)``."""
        timeout = self._timeout_ms if timeout_ms is None else timeout_ms
        headers = {"accept": "application/json", "accept-encoding": ACCEPT_ENCODING}
        if etag is not None:
            headers["if-none-match"] = etag
        try:
            status, response_headers, data = self._request("GET", path, headers, None, timeout)
        except BaseException as error:  # noqa: BLE001
            raise self._failure(error, "GET", path, timeout) from None
        if status == 304:
            return None
        text = _decode_body(data, response_headers.get("content-encoding"))
        if not 200 <= status < 300:
            raise http_error(status, text, f"GET {path}")
        self._succeeded(status)
        try:
            return json.loads(text), response_headers.get("etag")
        except ValueError:
            raise PromptopsError(
                "internal",
                "invalid_response",
                f"GET {path}: the server answered with invalid JSON",
                fix=f"check that {self.base_url} is a promptops server",
            ) from None

    def stream(self, path: str, headers: Mapping[str, str], connect_timeout_ms: float, idle_timeout_ms: float) -> Stream:
        """Opens a streaming GET; its reads time out after ``idle_timeout_ms`` without a byte."""
        if self._closed:
            raise PromptopsError("internal", "client_closed", "the client was closed")
        connection = self._connection(connect_timeout_ms / 1000)
        try:
            connection.request("GET", self._prefix + path, headers=self._headers(headers))
            # Held here: getresponse() drops the connection's reference when the server will close it.
            sock = connection.sock
            response = connection.getresponse()
            if not 200 <= response.status < 300:
                text = response.read().decode("utf-8", "replace")
                connection.close()
                raise http_error(response.status, text, f"GET {path}")
            if sock is not None:
                sock.settimeout(idle_timeout_ms / 1000 if idle_timeout_ms > 0 else None)
            return Stream(connection, sock, response)
        except BaseException as error:  # noqa: BLE001
            connection.close()
            raise self._failure(error, "GET", path, connect_timeout_ms) from None

    def post(self, path: str, body: str, timeout_ms: Optional[float] = None) -> PostResult:
        """POSTs a JSON body and returns the answer whatever its status; raises only when no answer came
        (``server_unreachable`` with ``details.cause`` such as ECONNREFUSED, or ``server_timeout``)."""
        timeout = self._timeout_ms if timeout_ms is None else timeout_ms
        headers = {"accept": "application/json", "content-type": "application/json"}
        try:
            status, response_headers, data = self._request("POST", path, headers, body.encode("utf-8"), timeout)
        except BaseException as error:  # noqa: BLE001
            raise self._failure(error, "POST", path, timeout) from None
        self._succeeded(status)
        return PostResult(status, response_headers.get("retry-after"), data.decode("utf-8", "replace"))

    def probe(self, path: str, timeout_ms: float) -> bool:
        """One unauthenticated GET (``/healthz``): True on a 2xx, False on anything else."""
        if self._closed:
            return False
        connection = self._connection(timeout_ms / 1000)
        sock: Optional[socket.socket] = None
        try:
            sock = self._open(connection)
            connection.request("GET", self._prefix + path, headers={"accept": "application/json", "user-agent": USER_AGENT})
            response = connection.getresponse()
            response.read()
            return 200 <= response.status < 300
        except (OSError, http.client.HTTPException, _Closed):
            return False
        finally:
            self._done(sock)
            connection.close()

    def close(self) -> None:
        """Refuses new requests and cuts those in flight."""
        self._closed = True
        with self._lock:
            active = list(self._active)
        for sock in active:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
