"""Refs name a version: ``v17``, a sha or a unique prefix of 7+ hex characters, or a label (core's refs)."""

from __future__ import annotations

import re
from typing import Any, Dict, Optional, Tuple

from .errors import PromptopsError

__all__ = [
    "parse_ref",
    "parse_name_ref",
    "format_ref",
    "assert_label_name",
    "LABEL_PATTERN",
    "PROMPT_NAME_PATTERN",
    "MIN_SHA_PREFIX",
    "js_trim",
]

MIN_SHA_PREFIX = 7
_VERSION_REF = re.compile(r"^v([1-9][0-9]{0,8})\Z")
_VERSION_LIKE = re.compile(r"^v[0-9]+\Z")
_SHA_REF = re.compile(r"^[0-9a-f]{7,64}\Z")
LABEL_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,62}\Z")
PROMPT_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*(/[a-z0-9][a-z0-9_.-]*)*\Z")
LATEST_LABEL = "latest"

_JS_WS = "\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"

Ref = Dict[str, Any]
"""``{"kind": "version", "version": 17}``, ``{"kind": "sha", "prefix": "3f2a9c1"}`` or ``{"kind": "label", "label": "production"}``."""


def js_trim(text: str) -> str:
    """JavaScript's ``String.prototype.trim`` (its whitespace, not Python's)."""
    return text.strip(_JS_WS)


def parse_ref(text: str) -> Ref:
    """Parses a ref; ``invalid_ref`` when it is none of the three."""
    ref = js_trim(text)
    version = _VERSION_REF.match(ref)
    if version is not None:
        return {"kind": "version", "version": int(version.group(1))}
    if _SHA_REF.match(ref) is not None:
        return {"kind": "sha", "prefix": ref}
    if _VERSION_LIKE.match(ref) is not None:
        raise PromptopsError(
            "invalid",
            "invalid_ref",
            f'"{text}" is not a version: versions are v1, v2, ...',
            fix="use a version like v17 (no leading zeros), a sha or a prefix of at least 7 hex characters, or a label",
        )
    if LABEL_PATTERN.match(ref) is not None:
        return {"kind": "label", "label": ref}
    raise PromptopsError(
        "invalid",
        "invalid_ref",
        f'"{text}" is not a ref',
        fix=f"use a version like v17, a sha or a prefix of at least {MIN_SHA_PREFIX} hex characters, or a label like production",
    )


def format_ref(ref: Ref) -> str:
    """``v17``, the sha prefix, or the label."""
    if ref["kind"] == "version":
        return f"v{ref['version']}"
    return str(ref["prefix"] if ref["kind"] == "sha" else ref["label"])


def assert_label_name(label: str) -> None:
    """A label to move must not read as a version or a sha."""
    if LABEL_PATTERN.match(label) is None or _VERSION_LIKE.match(label) is not None or _SHA_REF.match(label) is not None:
        raise PromptopsError(
            "invalid",
            "invalid_label",
            f'"{label}" is not a valid label name',
            fix='a label is lowercase letters, digits, "_" and "-", starts with a letter, and does not look like a version (v17) or a sha',
        )


def parse_name_ref(text: str, fallback_ref: Optional[str] = None) -> Tuple[str, Ref]:
    """``NAME@REF`` (the last ``@``); the ref defaults to ``fallback_ref``. Returns ``(name, ref)``."""
    at = text.rfind("@")
    name = text if at == -1 else text[:at]
    ref_text = fallback_ref if at == -1 else text[at + 1 :]
    if PROMPT_NAME_PATTERN.match(name) is None:
        raise PromptopsError(
            "invalid",
            "invalid_name",
            f'"{name}" is not a prompt name',
            fix='use lowercase letters, digits, "_", "." and "-", with "/" between folders, e.g. support/greeter@production',
        )
    if ref_text is None or ref_text == "":
        raise PromptopsError(
            "invalid",
            "missing_ref",
            f'"{text}" names no version',
            fix="write NAME@v17, NAME@<sha> or NAME@production",
        )
    return name, parse_ref(ref_text)
