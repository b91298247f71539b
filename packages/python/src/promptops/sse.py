"""A Server-Sent Events parser (the WHATWG "event stream interpretation"), fed text as it arrives."""

from __future__ import annotations

import re
from typing import Callable, List, NamedTuple, Optional

__all__ = ["SseMessage", "SseParser"]

_DIGITS = re.compile(r"^[0-9]+\Z")
_LINE_END = re.compile(r"\r\n|\r|\n")


class SseMessage(NamedTuple):
    event: str
    """The ``event:`` field; ``message`` when absent."""
    data: str
    last_event_id: str
    """The last event id seen on this stream (ids persist across messages, per the spec)."""


class SseParser:
    """Feed decoded text with ``push``; every completed message goes to ``on_message``."""

    def __init__(self, on_message: Callable[[SseMessage], None], on_retry: Optional[Callable[[int], None]] = None) -> None:
        self._on_message = on_message
        self._on_retry = on_retry
        self._buffer = ""
        self._data: List[str] = []
        self._has_data = False
        self._event = ""
        self._last_event_id = ""
        self._started = False

    def push(self, text: str) -> None:
        """Feeds text; dispatches every message it completes."""
        if not self._started and text:
            self._started = True
            if text[0] == "\ufeff":
                text = text[1:]
        buffer = self._buffer + text
        start = 0
        length = len(buffer)
        for found in _LINE_END.finditer(buffer):
            # A CR at the very end may be the first half of CRLF: wait for the next chunk.
            if found.end() == length and found.group(0) == "\r":
                break
            self._line(buffer[start : found.start()])
            start = found.end()
        self._buffer = buffer[start:]

    def end(self) -> None:
        """The stream ended: a trailing CR ends its line; an incomplete message is discarded (spec)."""
        if self._buffer.endswith("\r"):
            self._line(self._buffer[:-1])
        self._buffer = ""
        self._data = []
        self._has_data = False
        self._event = ""

    def _line(self, line: str) -> None:
        if line == "":
            self._dispatch()
            return
        if line[0] == ":":  # a comment, e.g. keepalive
            return
        colon = line.find(":")
        field = line if colon == -1 else line[:colon]
        value = "" if colon == -1 else line[colon + 1 :]
        if value[:1] == " ":
            value = value[1:]
        if field == "data":
            self._data.append(value)
            self._has_data = True
        elif field == "event":
            self._event = value
        elif field == "id":
            if "\0" not in value:
                self._last_event_id = value
        elif field == "retry":
            if _DIGITS.match(value) is not None and self._on_retry is not None:
                self._on_retry(int(value))

    def _dispatch(self) -> None:
        has_data = self._has_data
        message = SseMessage(self._event or "message", "\n".join(self._data), self._last_event_id)
        self._data = []
        self._has_data = False
        self._event = ""
        if has_data:
            self._on_message(message)
