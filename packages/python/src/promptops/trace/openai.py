"""``instrument_openai(openai_client, client)``: wraps ``chat.completions.create`` on that client instance so
each call made with ``prompt.to_openai(vars)`` is recorded with the served sha, the variables, the output,
model, latency, tokens and errors. Duck-typed: no dependency on the ``openai`` package; it relies on the
shapes of its v1 clients (``OpenAI`` and ``AsyncOpenAI``) and records what it can when they differ. The
call itself is untouched: same arguments, same returned object, errors raised as they were."""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..resolved import prompt_link_of
from .event import new_event_id
from .otel import active_span

__all__ = ["instrument_openai"]

_INSTRUMENTED = "_promptops_instrumented"
_MAX_STREAM_TEXT = 128 * 1024 + 1  # the server keeps 128 KiB of output


def _get(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        return value.get(key)
    return getattr(value, key, None)


def _text(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and value != "" else None


def _count(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return dump()
        except Exception:  # noqa: BLE001
            pass
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


class _State:
    def __init__(self, client: Any, record_without_prompt: bool, provider: str) -> None:
        self.client = client
        self.record_without_prompt = record_without_prompt
        self.provider = provider


def instrument_openai(openai_client: Any, client: Any, record_calls_without_prompt: bool = False, provider: str = "openai") -> Any:
    """Wraps ``openai_client.chat.completions.create`` (returned, for chaining). Calls whose kwargs came from
    ``prompt.to_openai(vars)`` (as is, or extended: ``create(**prompt.to_openai(vars), stream=True)``) are
    recorded through ``client.trace``; others pass through untouched unless ``record_calls_without_prompt``.
    Instrumenting twice re-targets instead of recording every call twice."""
    completions = openai_client.chat.completions
    existing = getattr(completions, _INSTRUMENTED, None)
    if isinstance(existing, _State):
        existing.client = client
        existing.record_without_prompt = record_calls_without_prompt
        existing.provider = provider
        return openai_client
    found = getattr(completions, "create", None)
    if not callable(found):
        raise TypeError("instrument_openai: openai_client.chat.completions.create is not callable")
    original: Callable[..., Any] = found
    state = _State(client, record_calls_without_prompt, provider)
    if inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def create_async(*args: Any, **kwargs: Any) -> Any:
            call = _Call.start(state, kwargs)
            if call is None:
                return await original(*args, **kwargs)
            try:
                result = await original(*args, **kwargs)
            except BaseException as error:
                call.fail(error)
                raise
            call.succeed(result, asynchronous=True)
            return result

        wrapper: Callable[..., Any] = create_async
    else:

        @functools.wraps(original)
        def create(*args: Any, **kwargs: Any) -> Any:
            call = _Call.start(state, kwargs)
            if call is None:
                return original(*args, **kwargs)
            try:
                result = original(*args, **kwargs)
            except BaseException as error:
                call.fail(error)
                raise
            if inspect.isawaitable(result):
                return call.await_result(result)
            call.succeed(result, asynchronous=False)
            return result

        wrapper = create
    setattr(completions, "create", wrapper)
    setattr(completions, _INSTRUMENTED, state)
    return openai_client


class _Call:
    """One call: records exactly once, whichever way it ends."""

    def __init__(self, state: _State, base: Dict[str, Any], attributes: Dict[str, Any], streaming: bool, span: Any) -> None:
        self.state = state
        self.base = base
        self.attributes = attributes
        self.streaming = streaming
        self.span = span
        self.started = time.perf_counter()
        self.recorded = False

    @classmethod
    def start(cls, state: _State, kwargs: Dict[str, Any]) -> Optional["_Call"]:
        link = prompt_link_of(kwargs)
        if link is None and not state.record_without_prompt:
            return None
        model = _text(kwargs.get("model"))
        streaming = kwargs.get("stream") is True
        base: Dict[str, Any] = {"id": new_event_id(), "started_at": time.time() * 1000, "provider": state.provider}
        if link is not None:
            base["prompt"] = link.prompt
            base["variables"] = link.variables
        if model is not None:
            base["model"] = model
        # OpenAI's ``user`` is the unit key, as the gateway takes it: the trace carries only its hash.
        user = _text(kwargs.get("user"))
        if user is not None:
            base["unit_key"] = user
        attributes: Dict[str, Any] = {"gen_ai.operation.name": "chat"}
        if model is not None:
            attributes["gen_ai.request.model"] = model
        if link is not None:
            attributes["promptops.source"] = link.prompt.source
        if streaming:
            attributes["promptops.stream"] = True
        # The caller's span, captured before anything can leave its context.
        return cls(state, base, attributes, streaming, active_span())

    def finish(self, outcome: Dict[str, Any], extra: Optional[Dict[str, Any]] = None) -> None:
        if self.recorded:
            return
        self.recorded = True
        try:
            data: Dict[str, Any] = {**self.base, **outcome, "latency_ms": (time.perf_counter() - self.started) * 1000}
            data["attributes"] = {**self.attributes, **(extra or {})}
            record = getattr(self.state.client, "_record", None)
            if callable(record):
                record(data, self.span)
            else:
                self.state.client.trace(**data)
        except Exception:  # noqa: BLE001 - recording is best effort; the call's result is untouched
            pass

    def fail(self, error: BaseException) -> None:
        name = type(error).__name__
        extra: Dict[str, Any] = {"error.type": name}
        status = _count(getattr(error, "status_code", None))
        if status is None:
            status = _count(getattr(error, "status", None))
        if status is not None:
            extra["http.response.status_code"] = status
        message = str(error)
        self.finish({"status": "error", "error": message if name in ("", "Exception") else f"{name}: {message}", "output": None}, extra)

    def succeed(self, result: Any, asynchronous: bool) -> None:
        try:
            if self.streaming and result is not None and not isinstance(result, dict):
                self._observe_stream(result, asynchronous)
            else:
                self.finish(*_from_completion(result, self.base.get("model")))
        except Exception:  # noqa: BLE001
            pass

    async def await_result(self, awaitable: Any) -> Any:
        try:
            result = await awaitable
        except BaseException as error:
            self.fail(error)
            raise
        self.succeed(result, asynchronous=True)
        return result

    def _observe_stream(self, stream: Any, asynchronous: bool) -> None:
        """A streamed completion is recorded when its iteration ends: the text of choice 0, usage when the
        request asked for it, an error if it failed, ``promptops.stream.incomplete`` if the caller stopped
        early. openai's ``Stream`` reads through its ``_iterator``, which is what is wrapped."""
        iterator = getattr(stream, "_iterator", None)
        if iterator is None:
            self.finish({"output": None, "status": "ok"})
            return
        collected = _StreamText(self)
        wrapped = collected.wrap_async(iterator) if asynchronous or hasattr(iterator, "__anext__") else collected.wrap(iterator)
        try:
            stream._iterator = wrapped
        except Exception:  # noqa: BLE001 - a stream we cannot observe is recorded without output
            self.finish({"output": None, "status": "ok"})


class _StreamText:
    def __init__(self, call: _Call) -> None:
        self.call = call
        self.output: List[str] = []
        self.length = 0
        self.model: Optional[str] = None
        self.response_id: Optional[str] = None
        self.usage: Optional[Dict[str, Any]] = None
        self.first_chunk_ms: Optional[float] = None
        self.reasons: List[str] = []

    def absorb(self, chunk: Any) -> None:
        if self.first_chunk_ms is None:
            self.first_chunk_ms = (time.perf_counter() - self.call.started) * 1000
        self.model = self.model or _text(_get(chunk, "model"))
        self.response_id = self.response_id or _text(_get(chunk, "id"))
        choices = _get(chunk, "choices") or []
        first = choices[0] if isinstance(choices, list) and choices else None
        if first is not None:
            piece = _text(_get(_get(first, "delta"), "content"))
            if piece is not None and self.length < _MAX_STREAM_TEXT:
                self.output.append(piece)
                self.length += len(piece)
            reason = _text(_get(first, "finish_reason"))
            if reason is not None:
                self.reasons.append(reason)
        usage = _get(chunk, "usage")
        if usage is not None:
            self.usage = {"input_tokens": _count(_get(usage, "prompt_tokens")), "output_tokens": _count(_get(usage, "completion_tokens"))}

    def end(self, incomplete: bool) -> None:
        extra: Dict[str, Any] = {}
        if self.model is not None:
            extra["gen_ai.response.model"] = self.model
        if self.response_id is not None:
            extra["gen_ai.response.id"] = self.response_id
        if self.reasons:
            extra["gen_ai.response.finish_reasons"] = self.reasons
        if self.first_chunk_ms is not None:
            extra["promptops.stream.first_chunk_ms"] = round(self.first_chunk_ms)
        if incomplete:
            extra["promptops.stream.incomplete"] = True
        text = "".join(self.output)
        outcome: Dict[str, Any] = {"output": text or None, "status": "ok"}
        if self.model is not None:
            outcome["model"] = self.model
        if self.usage is not None:
            outcome["usage"] = self.usage
        self.call.finish(outcome, extra)

    def wrap(self, iterator: Any) -> Any:
        finished = False
        try:
            for chunk in iterator:
                self.absorb(chunk)
                yield chunk
            finished = True
            self.end(False)
        except GeneratorExit:
            self.end(True)
            raise
        except BaseException as error:
            if not finished:
                self.call.fail(error)
            raise

    async def wrap_async(self, iterator: Any) -> Any:
        finished = False
        try:
            async for chunk in iterator:
                self.absorb(chunk)
                yield chunk
            finished = True
            self.end(False)
        except GeneratorExit:
            self.end(True)
            raise
        except asyncio.CancelledError as error:
            self.call.fail(error)
            raise
        except BaseException as error:
            if not finished:
                self.call.fail(error)
            raise


def _from_completion(value: Any, request_model: Optional[str]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    choices = _get(value, "choices")
    choices = choices if isinstance(choices, list) else []
    first = choices[0] if choices else None
    message = _get(first, "message") if first is not None else None
    output: Optional[str] = None
    if message is not None:
        output = _text(_get(message, "content")) or _text(_get(message, "refusal"))
        tool_calls = _get(message, "tool_calls")
        if output is None and isinstance(tool_calls, list) and tool_calls:
            try:
                output = json.dumps(_plain(tool_calls), ensure_ascii=False, separators=(",", ":"), default=str)
            except (TypeError, ValueError):
                output = None
    usage = _get(value, "usage")
    response_model = _text(_get(value, "model"))
    model = response_model or request_model
    extra: Dict[str, Any] = {}
    if response_model is not None:
        extra["gen_ai.response.model"] = response_model
    response_id = _text(_get(value, "id"))
    if response_id is not None:
        extra["gen_ai.response.id"] = response_id
    reasons = [_text(_get(choice, "finish_reason")) for choice in choices]
    if any(reason is not None for reason in reasons):
        extra["gen_ai.response.finish_reasons"] = [reason or "" for reason in reasons]
    outcome: Dict[str, Any] = {"output": output, "status": "ok"}
    if model is not None:
        outcome["model"] = model
    if usage is not None:
        outcome["usage"] = {"input_tokens": _count(_get(usage, "prompt_tokens")), "output_tokens": _count(_get(usage, "completion_tokens"))}
    return outcome, extra
