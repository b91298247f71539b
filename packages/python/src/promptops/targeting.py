"""A rollout's targeting rules, identical to core's (``packages/core/src/rollouts/targeting.ts`` and
``safe-regex.ts``): conditions on the caller's context tried in order, the first match serving a label,
an arm or a percentage of the segment (bucketed on the rollout's salt, as the ramp); a killed rollout
serves everyone the baseline. Patterns are a small subset run by a Pike VM (linear time, by code point),
never by ``re``, so every implementation decides alike. Vectors: conformance/targeting.json.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

from .assignment import assign_arm

__all__ = ["RegexSyntaxError", "TargetingOutcome", "compile_safe_regex", "context_value", "decide_targeting", "parse_semver"]

MAX_PATTERN_LENGTH = 256


class RegexSyntaxError(ValueError):
    """A pattern outside the supported subset."""


class _Set(NamedTuple):
    ranges: Tuple[Tuple[int, int], ...]
    negated: bool


_DIGIT = _Set(((48, 57),), False)
_WORD = _Set(((48, 57), (65, 90), (95, 95), (97, 122)), False)
_SPACE = _Set(((9, 13), (32, 32)), False)
_ANY = _Set((), True)
_CLASSES = {"d": _DIGIT, "w": _WORD, "s": _SPACE}
_SPECIAL = set("\\^$.|?*+()[]{}")


def _punctuation(ch: str) -> bool:
    c = ord(ch)
    return 33 <= c <= 47 or 58 <= c <= 64 or 91 <= c <= 96 or 123 <= c <= 126


def _single(c: int) -> _Set:
    return _Set(((c, c),), False)


class _Parser:
    # Nodes: ("set", _Set) | ("bol",) | ("eol",) | ("cat", [nodes]) | ("alt", [nodes]) | ("rep", node, min, max)
    def __init__(self, chars: str) -> None:
        self.chars = chars
        self.i = 0

    def peek(self, k: int = 0) -> Optional[str]:
        j = self.i + k
        return self.chars[j] if j < len(self.chars) else None

    def parse(self) -> Any:
        node = self.alt()
        if self.i < len(self.chars):
            raise RegexSyntaxError(f"unexpected '{self.chars[self.i]}' at {self.i}")
        return node

    def alt(self) -> Any:
        options = [self.cat()]
        while self.peek() == "|":
            self.i += 1
            options.append(self.cat())
        return options[0] if len(options) == 1 else ("alt", options)

    def cat(self) -> Any:
        parts: List[Any] = []
        while self.i < len(self.chars) and self.peek() not in ("|", ")"):
            atom = self.atom()
            q = self.peek()
            if q in ("*", "+", "?"):
                if atom[0] in ("bol", "eol"):
                    raise RegexSyntaxError(f"'{q}' after an anchor at {self.i}")
                self.i += 1
                if self.peek() in ("*", "+", "?", "{"):
                    raise RegexSyntaxError(f"a second quantifier at {self.i}")
                parts.append(("rep", atom, 1 if q == "+" else 0, 1 if q == "?" else None))
            else:
                parts.append(atom)
        return ("cat", parts)

    def atom(self) -> Any:
        ch = self.chars[self.i]
        self.i += 1
        if ch == "(":
            if self.peek() == "?":
                raise RegexSyntaxError("'(?' groups are not supported")
            inner = self.alt()
            if self.peek() != ")":
                raise RegexSyntaxError("an unclosed group")
            self.i += 1
            return inner
        if ch == "[":
            return ("set", self.char_class())
        if ch == ".":
            return ("set", _ANY)
        if ch == "^":
            return ("bol",)
        if ch == "$":
            return ("eol",)
        if ch == "\\":
            return ("set", self.escape())
        if ch in _SPECIAL:
            raise RegexSyntaxError(f"'{ch}' must be escaped")
        return ("set", _single(ord(ch)))

    def escape(self) -> _Set:
        ch = self.peek()
        if ch is None:
            raise RegexSyntaxError("a trailing backslash")
        self.i += 1
        if ch in "dwsDWS":
            s = _CLASSES[ch.lower()]
            return s if ch.islower() else _Set(s.ranges, True)
        if _punctuation(ch):
            return _single(ord(ch))
        raise RegexSyntaxError(f"'\\{ch}' is not supported")

    def char_class(self) -> _Set:
        negated = self.peek() == "^"
        if negated:
            self.i += 1
        ranges: List[Tuple[int, int]] = []
        first = True
        while True:
            ch = self.peek()
            if ch is None:
                raise RegexSyntaxError("an unclosed [")
            self.i += 1
            if ch == "]" and not first:
                break
            first = False
            if ch == "\\":
                s = self.escape()
                if s.negated or len(s.ranges) != 1 or s.ranges[0][0] != s.ranges[0][1]:
                    if s.negated:
                        raise RegexSyntaxError("\\D \\W \\S cannot be used inside [ ]")
                    ranges.extend(s.ranges)
                    continue
                low = s.ranges[0][0]
            elif ch == "[":
                raise RegexSyntaxError("'[' inside [ ] must be escaped")
            else:
                low = ord(ch)
            nxt = self.peek(1)
            if self.peek() == "-" and nxt is not None and nxt != "]":
                self.i += 1
                hi_ch = self.chars[self.i]
                self.i += 1
                if hi_ch == "\\":
                    s = self.escape()
                    if s.negated or len(s.ranges) != 1:
                        raise RegexSyntaxError("a class cannot end a range")
                    hi = s.ranges[0][0]
                else:
                    hi = ord(hi_ch)
                if hi < low:
                    raise RegexSyntaxError("a reversed range")
                ranges.append((low, hi))
            else:
                ranges.append((low, low))
        return _Set(tuple(ranges), negated)


def _compile(node: Any, prog: List[List[Any]]) -> None:
    kind = node[0]
    if kind == "set":
        prog.append(["set", node[1]])
    elif kind in ("bol", "eol"):
        prog.append([kind])
    elif kind == "cat":
        for part in node[1]:
            _compile(part, prog)
    elif kind == "alt":
        jumps = []
        options = node[1]
        for k, option in enumerate(options):
            if k < len(options) - 1:
                split = ["split", len(prog) + 1, 0]
                prog.append(split)
                _compile(option, prog)
                jmp = ["jmp", 0]
                prog.append(jmp)
                jumps.append(jmp)
                split[2] = len(prog)
            else:
                _compile(option, prog)
        for jmp in jumps:
            jmp[1] = len(prog)
    else:  # rep
        _, inner, minimum, maximum = node
        if minimum == 1:
            start = len(prog)
            _compile(inner, prog)
            prog.append(["split", start, len(prog) + 1])
            return
        at = len(prog)
        split = ["split", at + 1, 0]
        prog.append(split)
        _compile(inner, prog)
        if maximum is None:
            prog.append(["jmp", at])
        split[2] = len(prog)


def _in_set(s: _Set, c: int) -> bool:
    found = any(a <= c <= b for a, b in s.ranges)
    return found != s.negated


class SafeRegex:
    """A compiled pattern; ``test(text)`` searches it (anchor with ^ and $)."""

    def __init__(self, source: str, prog: List[List[Any]]) -> None:
        self.source = source
        self._prog = prog

    def test(self, text: str) -> bool:
        prog = self._prog
        mark = [-1] * len(prog)
        generation = 0
        n = len(text)

        def add(out: List[int], pc: int, at: int) -> bool:
            stack = [pc]
            while stack:
                p = stack.pop()
                if mark[p] == generation:
                    continue
                mark[p] = generation
                inst = prog[p]
                op = inst[0]
                if op == "match":
                    return True
                if op == "jmp":
                    stack.append(inst[1])
                elif op == "split":
                    stack.append(inst[2])
                    stack.append(inst[1])
                elif op == "bol":
                    if at == 0:
                        stack.append(p + 1)
                elif op == "eol":
                    if at == n:
                        stack.append(p + 1)
                else:
                    out.append(p)
            return False

        current: List[int] = []
        at = 0
        while True:
            if add(current, 0, at):
                return True
            if at == n:
                return False
            generation += 1
            c = ord(text[at])
            nxt: List[int] = []
            for pc in current:
                if _in_set(prog[pc][1], c) and add(nxt, pc + 1, at + 1):
                    return True
            current = nxt
            at += 1


def compile_safe_regex(source: str) -> SafeRegex:
    if len(source) > MAX_PATTERN_LENGTH:
        raise RegexSyntaxError(f"a pattern is at most {MAX_PATTERN_LENGTH} characters")
    prog: List[List[Any]] = []
    _compile(_Parser(source).parse(), prog)
    prog.append(["match"])
    return SafeRegex(source, prog)


_REGEXES: Dict[str, SafeRegex] = {}


def _regex_for(source: str) -> SafeRegex:
    regex = _REGEXES.get(source)
    if regex is None:
        if len(_REGEXES) >= 1000:
            _REGEXES.clear()
        regex = _REGEXES[source] = compile_safe_regex(source)
    return regex


# ---- semantic versions ----------------------------------------------------------------------------

_IDENT = r"(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)"
_SEMVER = re.compile(
    r"v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    rf"(?:-({_IDENT}(?:\.{_IDENT})*))?(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?"
)


def parse_semver(text: str) -> Optional[Tuple[Tuple[str, str, str], Tuple[str, ...]]]:
    """SemVer 2.0.0 (an optional leading ``v``; build metadata ignored), else None."""
    m = _SEMVER.fullmatch(text)
    if m is None:
        return None
    return (m.group(1), m.group(2), m.group(3)), tuple(m.group(4).split(".")) if m.group(4) else ()


def _cmp_numeric(a: str, b: str) -> int:
    if len(a) != len(b):
        return len(a) - len(b)
    return (a > b) - (a < b)


def _is_numeric(s: str) -> bool:
    return s != "" and all("0" <= ch <= "9" for ch in s)


def _cmp_identifier(a: str, b: str) -> int:
    na, nb = _is_numeric(a), _is_numeric(b)
    if na and nb:
        return _cmp_numeric(a, b)
    if na != nb:
        return -1 if na else 1
    return (a > b) - (a < b)


def compare_semver(a: Any, b: Any) -> int:
    for x, y in zip(a[0], b[0]):
        c = _cmp_numeric(x, y)
        if c != 0:
            return c
    pa, pb = a[1], b[1]
    if not pa or not pb:
        return len(pb) - len(pa)
    for x, y in zip(pa, pb):
        c = _cmp_identifier(x, y)
        if c != 0:
            return c
    return len(pa) - len(pb)


# ---- rules ----------------------------------------------------------------------------------------

_MAX_SAFE = 2**53 - 1


def context_value(context: Optional[Mapping[str, Any]], attribute: str) -> Optional[str]:
    """Strings as they are, booleans as true/false, safe whole numbers in decimal; else None."""
    if context is None or attribute not in context:
        return None
    value = context[attribute]
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and abs(value) <= _MAX_SAFE:
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) <= _MAX_SAFE:
        return str(int(value))
    return None


def _condition_matches(condition: Mapping[str, Any], context: Optional[Mapping[str, Any]]) -> bool:
    value = context_value(context, condition["attribute"])
    if value is None:
        return False
    values: Sequence[str] = condition["values"]
    first = values[0] if values else ""
    op = condition["op"]
    if op == "equals":
        return value == first
    if op == "not_equals":
        return value != first
    if op == "in":
        return value in values
    if op == "not_in":
        return value not in values
    if op == "regex":
        return _regex_for(first).test(value)
    if op in ("semver_gte", "semver_lt"):
        have, bound = parse_semver(value), parse_semver(first)
        if have is None or bound is None:
            return False
        c = compare_semver(have, bound)
        return c >= 0 if op == "semver_gte" else c < 0
    return False  # an operator of a newer server: the condition does not hold


def match_rule(rules: Sequence[Mapping[str, Any]], context: Optional[Mapping[str, Any]]) -> Optional[int]:
    """The index of the first rule whose conditions all hold (a rollout's or a label's own), or None."""
    for i, rule in enumerate(rules):
        if all(_condition_matches(c, context) for c in rule["when"]):
            return i
    return None


class TargetingOutcome(NamedTuple):
    cause: str
    """``killed``, ``rule`` or ``ramp``."""
    rule: Optional[int]
    label: Optional[str]
    arm: Optional[str]
    bucket: Optional[int]


def decide_targeting(
    salt: str,
    ramp: float,
    rules: Optional[Sequence[Mapping[str, Any]]],
    killed: bool,
    unit_key: Optional[str],
    context: Optional[Mapping[str, Any]],
) -> TargetingOutcome:
    """The kill switch first, then the first rule whose conditions all hold, then the ramp."""
    if killed:
        return TargetingOutcome("killed", None, None, "baseline", None)
    index = match_rule(rules or (), context)
    if index is None:
        a = assign_arm(salt, unit_key, ramp)
        return TargetingOutcome("ramp", None, None, a.arm, a.bucket)
    serve = rules[index]["serve"]  # type: ignore[index]
    if "label" in serve:
        return TargetingOutcome("rule", index, serve["label"], None, None)
    if "arm" in serve:
        return TargetingOutcome("rule", index, None, serve["arm"], None)
    a = assign_arm(salt, unit_key, serve["percentage"])
    return TargetingOutcome("rule", index, None, a.arm, a.bucket)
