"""Sticky rollout assignment, identical to core's (``packages/core/src/rollouts/assignment.ts``).

murmur3 x86 32-bit, seed 0, over the UTF-8 bytes of ``salt + ":" + unit_key``; bucket = hash mod 10,000;
the candidate arm when bucket < ramp x 100. The salt is the rollout's id unless changed on purpose (that
reshuffles every unit). No unit key (``None`` or ``""``): the baseline. Vectors: conformance/assignment.json.
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import NamedTuple, Optional

from .errors import PromptopsError

__all__ = [
    "Assignment",
    "ASSIGNMENT_BUCKETS",
    "assign_arm",
    "assignment_bucket",
    "assignment_input",
    "murmur3_32",
    "ramp_threshold",
    "rollout_unit_hash",
    "utf8_bytes",
]

ASSIGNMENT_BUCKETS = 10_000
_MASK = 0xFFFFFFFF
_C1 = 0xCC9E2D51
_C2 = 0x1B873593
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class Assignment(NamedTuple):
    arm: str
    """``"baseline"`` or ``"candidate"``."""
    bucket: Optional[int]
    """0..9999, or ``None`` when the call had no unit key."""


def _rotl(value: int, by: int) -> int:
    return ((value << by) | (value >> (32 - by))) & _MASK


def _mix(k: int) -> int:
    return (_rotl((k * _C1) & _MASK, 15) * _C2) & _MASK


def utf8_bytes(text: str) -> bytes:
    # A lone surrogate (possible in a JSON string) becomes U+FFFD, as JavaScript's TextEncoder writes it.
    return _LONE_SURROGATE.sub("\ufffd", text).encode("utf-8")


def rollout_unit_hash(rollout_id: str, unit_key: str) -> str:
    """A unit's identity on a rollout's traces (``rollout.unit``), core's ``rolloutUnitHash``: the first 16
    hex characters of sha256 over the UTF-8 of ``rollout_id + ":" + unit_key``. The server's sample-ratio
    check counts these; the key itself (often a user id) is never sent."""
    return hashlib.sha256(utf8_bytes(f"{rollout_id}:{unit_key}")).hexdigest()[:16]


def murmur3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit of ``data``, as an unsigned integer."""
    h = seed & _MASK
    blocks = len(data) & ~3
    for i in range(0, blocks, 4):
        h ^= _mix(int.from_bytes(data[i : i + 4], "little"))
        h = (_rotl(h, 13) * 5 + 0xE6546B64) & _MASK
    if len(data) & 3:
        h ^= _mix(int.from_bytes(data[blocks:], "little"))
    h ^= len(data)
    h = ((h ^ (h >> 16)) * 0x85EBCA6B) & _MASK
    h = ((h ^ (h >> 13)) * 0xC2B2AE35) & _MASK
    return h ^ (h >> 16)


def assignment_input(salt: str, unit_key: str) -> str:
    """The text whose UTF-8 bytes are hashed."""
    return f"{salt}:{unit_key}"


def assignment_bucket(salt: str, unit_key: str) -> int:
    return murmur3_32(utf8_bytes(assignment_input(salt, unit_key))) % ASSIGNMENT_BUCKETS


def ramp_threshold(ramp: float) -> int:
    """Buckets in the candidate at ``ramp`` percent (0..100, at most two decimals)."""
    valid = isinstance(ramp, (int, float)) and not isinstance(ramp, bool) and math.isfinite(ramp)
    buckets = round(ramp * 100) if valid else 0
    if not valid or ramp < 0 or ramp > 100 or abs(ramp * 100 - buckets) > 1e-6:
        raise PromptopsError(
            "invalid",
            "invalid_rollout",
            f"ramp must be a percentage from 0 to 100 with at most two decimals, got {ramp!r}",
            fix="give ramp as e.g. 1, 5, 12.5 or 0.01 (one bucket in 10,000)",
        )
    return buckets


def assign_arm(salt: str, unit_key: Optional[str], ramp: float) -> Assignment:
    """The arm of ``unit_key`` at ``ramp`` percent."""
    threshold = ramp_threshold(ramp)
    if not unit_key:
        return Assignment("baseline", None)
    bucket = assignment_bucket(salt, unit_key)
    return Assignment("candidate" if bucket < threshold else "baseline", bucket)
