"""RFC 8785 (JCS) canonical JSON and sha256, byte for byte as core computes them in JavaScript.

Two JavaScript behaviours are reproduced exactly, because a version's sha depends on them:

- numbers are written as ECMAScript's ``Number::toString`` writes them (``1e+21``, ``1e-7``, ``0.1``,
  ``5`` for ``5.0``), from the shortest digits that round-trip, which Python's ``repr`` gives;
- integers beyond 2**53 become the nearest double first, as ``JSON.parse`` makes them;
- object keys are sorted by UTF-16 code units, not by code points.

``js_json`` is ``JSON.stringify`` for JSON data (compact, key order as JavaScript keeps it), used where
core stringifies (rendering an object variable) and for the fast verification path.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from decimal import Decimal
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from .errors import PromptopsError

__all__ = [
    "canonical_json",
    "content_sha",
    "es_number",
    "js_json",
    "js_keys",
    "sha256_hex",
    "SHA_PATTERN",
    "short_sha",
    "lone_surrogate_problem",
    "utf16_length",
]

SHA_PATTERN = re.compile(r"^[0-9a-f]{64}\Z")
SHORT_SHA_LENGTH = 7

_MAX_SAFE = 2**53
_encode_string = json.encoder.encode_basestring  # type: ignore[attr-defined]
_SURROGATE = re.compile("[\ud800-\udfff]")
_ARRAY_INDEX = re.compile(r"^(0|[1-9][0-9]*)\Z")


def short_sha(sha: str) -> str:
    """The first 7 characters, as shown everywhere."""
    return sha[:SHORT_SHA_LENGTH]


def sha256_hex(text: str) -> str:
    """sha256 of the UTF-8 text, as hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units (JavaScript's ``string.length``)."""
    length = len(text)
    for char in text:
        if ord(char) > 0xFFFF:
            length += 1
    return length


def es_number(value: Union[int, float]) -> str:
    """ECMAScript ``Number::toString(x)`` (ECMA-262 6.1.6.1.20) for a finite number."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, int):
        if -_MAX_SAFE < value < _MAX_SAFE:
            return str(value)
        value = float(value)  # what JSON.parse would have made of it; OverflowError past 1.8e308
    if value != value or value in (math.inf, -math.inf):
        raise ValueError(f"{value} is not a finite number")
    if value == 0:
        return "0"
    if value < 0:
        return "-" + es_number(-value)
    # Shortest round-trip digits (repr) as a digit string s of k digits and n with value = s * 10**(n-k).
    sign, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    digits = "".join(str(d) for d in digit_tuple).lstrip("0")
    trailing = len(digits) - len(digits.rstrip("0"))
    digits = digits.rstrip("0")
    assert isinstance(exponent, int)
    exponent += trailing
    k = len(digits)
    n = exponent + k
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    exp_text = ("+" if e >= 0 else "-") + str(abs(e))
    if k == 1:
        return digits + "e" + exp_text
    return digits[0] + "." + digits[1:] + "e" + exp_text


def _js_string(text: str) -> str:
    """``JSON.stringify(string)``: lone surrogates escaped as ``\\udxxx`` (well-formed JSON.stringify)."""
    if _SURROGATE.search(text) is None:
        return str(_encode_string(text))
    text = _join_surrogate_pairs(text)
    out = str(_encode_string(text))
    return _SURROGATE.sub(lambda m: "\\u%04x" % ord(m.group(0)), out)


def _join_surrogate_pairs(text: str) -> str:
    """A high + low surrogate written as two code points in Python is one character in JavaScript."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _is_array_index(key: str) -> bool:
    return _ARRAY_INDEX.match(key) is not None and int(key) < 2**32 - 1


def js_keys(record: Dict[str, Any]) -> List[str]:
    """Keys in the order JavaScript enumerates an object's own keys: array indices ascending, then the rest
    in insertion order."""
    keys = list(record.keys())
    indices = [key for key in keys if _is_array_index(key)]
    if not indices:
        return keys
    indices.sort(key=int)
    return indices + [key for key in keys if not _is_array_index(key)]


def js_json(value: Any) -> str:
    """``JSON.stringify(value)`` of JSON data: compact, JavaScript's key order and number format; a
    non-finite number becomes ``null`` (as in JavaScript)."""
    parts: List[str] = []
    _write_js(value, parts)
    return "".join(parts)


def _write_js(value: Any, out: List[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_js_string(value))
    elif isinstance(value, (int, float)):
        try:
            out.append(es_number(value))
        except (ValueError, OverflowError):
            out.append("null")
    elif isinstance(value, dict):
        out.append("{")
        first = True
        for key in js_keys(value):
            if not first:
                out.append(",")
            first = False
            out.append(_js_string(str(key)))
            out.append(":")
            _write_js(value[key], out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write_js(item, out)
        out.append("]")
    else:
        raise TypeError(f"{type(value).__name__} is not JSON data")


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def canonical_json(value: Any) -> str:
    """RFC 8785 canonical JSON. Lone surrogates and non-finite numbers have no canonical form: refused as
    ``invalid_json``, naming where."""
    try:
        parts: List[str] = []
        _write_canonical(value, parts)
        return "".join(parts)
    except _Unrepresentable:
        pass
    issue = _unrepresentable(value, [])
    if issue is None:  # pragma: no cover - the walk finds what the writer refused
        raise TypeError("value cannot be represented as canonical JSON")
    raise PromptopsError(
        "invalid",
        "invalid_json",
        f"{issue['path'] or '(root)'}: {issue['message']}",
        issues=[issue],
        fix="send well-formed Unicode text and finite numbers",
    )


class _Unrepresentable(Exception):
    pass


def _write_canonical(value: Any, out: List[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        if _SURROGATE.search(value) is not None and _has_lone_surrogate(value):
            raise _Unrepresentable()
        out.append(_js_string(value))
    elif isinstance(value, (int, float)):
        try:
            out.append(es_number(value))
        except (ValueError, OverflowError):
            raise _Unrepresentable() from None
    elif isinstance(value, dict):
        out.append("{")
        first = True
        for key in sorted(value.keys(), key=_utf16_key):
            if not isinstance(key, str):
                raise TypeError("object keys must be strings")
            if _SURROGATE.search(key) is not None and _has_lone_surrogate(key):
                raise _Unrepresentable()
            if not first:
                out.append(",")
            first = False
            out.append(_js_string(key))
            out.append(":")
            _write_canonical(value[key], out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write_canonical(item, out)
        out.append("]")
    else:
        raise TypeError(f"{type(value).__name__} cannot be represented as canonical JSON")


def _has_lone_surrogate(text: str) -> bool:
    return _SURROGATE.search(_join_surrogate_pairs(text)) is not None


def lone_surrogate_problem(text: str) -> Optional[str]:
    """Why ``text`` is not well-formed Unicode (core's ``loneSurrogateProblem``), or None."""
    if _SURROGATE.search(text) is None:
        return None
    joined = _join_surrogate_pairs(text)
    found = _SURROGATE.search(joined)
    if found is None:
        return None
    unit = "%X" % ord(found.group(0))
    index = utf16_length(joined[: found.start()])
    return (
        f"contains a lone UTF-16 surrogate (U+{unit} at character {index}): text must be well-formed "
        "Unicode; send both halves of the surrogate pair, or remove it"
    )


def format_path(path: Sequence[Union[str, int]]) -> str:
    """``messages[0].content`` from ``["messages", 0, "content"]`` (core's ``formatPath``)."""
    parts: List[str] = []
    for index, part in enumerate(path):
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(part if index == 0 else "." + part)
    return "".join(parts)


def _number_text(value: float) -> str:
    if value != value:
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _unrepresentable(value: Any, path: List[Union[str, int]]) -> Optional[Dict[str, str]]:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        try:
            es_number(value)
            return None
        except (ValueError, OverflowError):
            number = float("inf") if isinstance(value, int) and value > 0 else float(value) if isinstance(value, float) else float("-inf")
            return {"path": format_path(path), "message": f"{_number_text(number)} is not a finite number"}
    if isinstance(value, str):
        problem = lone_surrogate_problem(value)
        return None if problem is None else {"path": format_path(path), "message": problem}
    items: Iterable[Tuple[Union[str, int], Any]]
    if isinstance(value, dict):
        items = []
        for key in js_keys(value):
            problem = lone_surrogate_problem(key)
            if problem is not None:
                return {"path": format_path(path + [key]), "message": f"the key {problem}"}
            items.append((key, value[key]))
    elif isinstance(value, (list, tuple)):
        items = list(enumerate(value))
    else:
        return None
    for step, item in items:
        found = _unrepresentable(item, path + [step])
        if found is not None:
            return found
    return None


def content_sha(value: Any) -> str:
    """The identity of any JSON value: sha256 of its canonical JSON."""
    return sha256_hex(canonical_json(value))
