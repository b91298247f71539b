"""Logic-less mustache, rendered exactly as core renders it.

Parsing follows mustache.js 4.2 (which core uses) step by step: the same scanner, the same
"standalone line" whitespace stripping, delimiter changes, and the same error messages. Rendering is
core's own walker: no HTML escaping, names resolve only to data (never to code), ``.`` is the current
item, sections iterate lists and enter other truthy values, ``{{> slot}}`` includes a slot (partial),
and a standalone partial's indentation is applied to each of its lines.

JavaScript semantics kept where they show: whitespace is ECMAScript's ``\\s``, a list has a ``length``,
numbers print as ``String(number)`` does, objects as ``JSON.stringify`` does, and positions in error
messages count UTF-16 code units.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Optional, Pattern, Set, Tuple

from .canonical import es_number, js_json, utf16_length
from .errors import PromptopsError

__all__ = ["render_template", "extract_references", "TemplateReferences", "MAX_SECTION_DEPTH", "parse_template"]

MAX_SECTION_DEPTH = 64
MAX_PARTIAL_DEPTH = 16
MAX_DATA_DEPTH = 64

# ECMAScript's \s: WhiteSpace and LineTerminator code points.
_WS = "\t\n\x0b\x0c\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_WS_CLASS = f"[{_WS}]"
_WHITE = re.compile(f"{_WS_CLASS}*")
_SPACES = re.compile(f"{_WS_CLASS}+")
_EQUALS = re.compile(f"{_WS_CLASS}*=")
_CURLY = re.compile(f"{_WS_CLASS}*\\}}")
_TAG_TYPES = frozenset("#^/>{&=!")
_WS_CHARS: Set[str] = set("\t\n\x0b\x0c\r \xa0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff") | {
    chr(c) for c in range(0x2000, 0x200B)
}
_LINE_TERMINATORS = "\n\r\u2028\u2029"
_LINE_START = re.compile(f"(?:^|(?<=[{_LINE_TERMINATORS}]))(?=[^{_LINE_TERMINATORS}])")
_STANDALONE_AFTER = re.compile(r"[ \t]*(\r?\n|\Z)")

Token = List[Any]


class _ParseError(Exception):
    pass


def _compile_tags(tags: Any) -> Tuple[Pattern[str], Pattern[str], Pattern[str]]:
    if isinstance(tags, str):
        tags = _SPACES.split(tags)[:2]  # JavaScript's split(re, 2): split everywhere, keep two
    if not isinstance(tags, list) or len(tags) != 2:
        raise _ParseError("Invalid tags: " + ",".join(tags if isinstance(tags, list) else [str(tags)]))
    opening, closing = tags
    return (
        re.compile(re.escape(opening) + _WS_CLASS + "*"),
        re.compile(_WS_CLASS + "*" + re.escape(closing)),
        re.compile(_WS_CLASS + "*" + re.escape("}" + closing)),
    )


def _mustache_parse(template: str) -> List[Token]:
    """mustache.js's ``parseTemplate`` (squashed and nested tokens)."""
    if not template:
        return []
    line_has_non_space = False
    sections: List[Token] = []
    tokens: List[Optional[Token]] = []
    spaces: List[int] = []
    has_tag = False
    non_space = False
    indentation = ""
    tag_index = 0
    length = len(template)

    def where(index: int) -> int:
        return utf16_length(template[:index])

    def strip_space() -> None:
        nonlocal spaces, has_tag, non_space
        if has_tag and not non_space:
            while spaces:
                tokens[spaces.pop()] = None
        else:
            spaces = []
        has_tag = False
        non_space = False

    opening_re, closing_re, closing_curly_re = _compile_tags(["{{", "}}"])
    pos = 0

    def scan_until(pattern: Pattern[str]) -> str:
        nonlocal pos
        found = pattern.search(template, pos)
        end = length if found is None else found.start()
        value = template[pos:end]
        pos = end
        return value

    def scan(pattern: Pattern[str]) -> str:
        nonlocal pos
        found = pattern.match(template, pos)
        if found is None:
            return ""
        pos = found.end()
        return found.group(0)

    while pos < length:
        start = pos
        value = scan_until(opening_re)
        if value:
            run_start = -1
            for i, char in enumerate(value):
                if char in _WS_CHARS:
                    if run_start != -1:
                        tokens.append(["text", value[run_start:i], start + run_start, start + i])
                        run_start = -1
                    spaces.append(len(tokens))
                    indentation += char
                    tokens.append(["text", char, start + i, start + i + 1])
                    if char == "\n":
                        strip_space()
                        indentation = ""
                        tag_index = 0
                        line_has_non_space = False
                else:
                    non_space = True
                    line_has_non_space = True
                    indentation += " "
                    if run_start == -1:
                        run_start = i
            if run_start != -1:
                tokens.append(["text", value[run_start:], start + run_start, start + len(value)])
            start += len(value)

        if not scan(opening_re):
            break
        has_tag = True

        tag_type = template[pos] if pos < length and template[pos] in _TAG_TYPES else ""
        if tag_type:
            pos += 1
        else:
            tag_type = "name"
        scan(_WHITE)

        if tag_type == "=":
            value = scan_until(_EQUALS)
            scan(_EQUALS)
            scan_until(closing_re)
        elif tag_type == "{":
            value = scan_until(closing_curly_re)
            scan(_CURLY)
            scan_until(closing_re)
            tag_type = "&"
        else:
            value = scan_until(closing_re)

        if not scan(closing_re):
            raise _ParseError(f"Unclosed tag at {where(pos)}")

        if tag_type == ">":
            token: Token = [tag_type, value, start, pos, indentation, tag_index, line_has_non_space]
        else:
            token = [tag_type, value, start, pos]
        tag_index += 1
        tokens.append(token)

        if tag_type in ("#", "^"):
            sections.append(token)
        elif tag_type == "/":
            if not sections:
                raise _ParseError(f'Unopened section "{value}" at {where(start)}')
            open_section = sections.pop()
            if open_section[1] != value:
                raise _ParseError(f'Unclosed section "{open_section[1]}" at {where(start)}')
        elif tag_type in ("name", "{", "&"):
            non_space = True
        elif tag_type == "=":
            opening_re, closing_re, closing_curly_re = _compile_tags(value)

    strip_space()
    if sections:
        raise _ParseError(f'Unclosed section "{sections[-1][1]}" at {where(pos)}')
    return _nest(_squash(tokens))


def _squash(tokens: List[Optional[Token]]) -> List[Token]:
    squashed: List[Token] = []
    last: Optional[Token] = None
    for token in tokens:
        if token is None:
            continue
        if token[0] == "text" and last is not None and last[0] == "text":
            last[1] += token[1]
            last[3] = token[3]
        else:
            squashed.append(token)
            last = token
    return squashed


def _nest(tokens: List[Token]) -> List[Token]:
    nested: List[Token] = []
    collector = nested
    sections: List[Token] = []
    for token in tokens:
        kind = token[0]
        if kind in ("#", "^"):
            collector.append(token)
            sections.append(token)
            token.append([])
            collector = token[4]
        elif kind == "/":
            section = sections.pop()
            section.append(token[2])
            collector = sections[-1][4] if sections else nested
        else:
            collector.append(token)
    return nested


def _section_depth(tokens: List[Token]) -> int:
    deepest = 0
    pending: List[Tuple[List[Token], int]] = [(tokens, 0)]
    while pending:
        items, depth = pending.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_SECTION_DEPTH:
            break
        for token in items:
            if token[0] in ("#", "^"):
                pending.append((token[4], depth + 1))
    return deepest


# Parsed templates by their text, least recently used first, bounded by their total size.
_CACHE_CHARACTERS = 512 * 1024
_parsed: "OrderedDict[str, List[Token]]" = OrderedDict()
_cached_characters = 0
_cache_lock = threading.Lock()


def parse_template(template: str, where: str = "template") -> List[Token]:
    """The token tree of ``template`` (cached); ``invalid_template`` when it does not parse."""
    global _cached_characters
    with _cache_lock:
        hit = _parsed.get(template)
        if hit is not None:
            _parsed.move_to_end(template)
            return hit
    try:
        tokens = _mustache_parse(template)
    except _ParseError as error:
        raise PromptopsError(
            "invalid",
            "invalid_template",
            f"{where}: template does not parse: {error}",
            fix="close every {{#section}} with {{/section}} and balance the braces",
        ) from None
    if _section_depth(tokens) > MAX_SECTION_DEPTH:
        raise PromptopsError(
            "invalid",
            "invalid_template",
            f"{where}: sections nest more than {MAX_SECTION_DEPTH} levels deep",
            fix=f"nest {{{{#section}}}} and {{{{^section}}}} at most {MAX_SECTION_DEPTH} levels deep",
        )
    if len(template) <= _CACHE_CHARACTERS // 2:
        with _cache_lock:
            if template not in _parsed:
                _parsed[template] = tokens
                _cached_characters += len(template)
                while _cached_characters > _CACHE_CHARACTERS and _parsed:
                    oldest, _ = _parsed.popitem(last=False)
                    _cached_characters -= len(oldest)
    return tokens


class TemplateReferences:
    """Variables and partials a template uses (core's ``TemplateReferences``)."""

    __slots__ = ("variables", "partials", "unconditional_partials", "names")

    def __init__(self) -> None:
        self.variables: Dict[str, None] = {}
        self.partials: Dict[str, None] = {}
        self.unconditional_partials: Dict[str, None] = {}
        self.names: Dict[str, None] = {}


def _root_name(name: str) -> str:
    return name.split(".")[0]


def extract_references(template: str, where: str = "template") -> TemplateReferences:
    """Top-level variables (outside any section, plus section names), partials, and every name mentioned."""
    refs = TemplateReferences()

    def walk(tokens: List[Token], depth: int) -> None:
        for token in tokens:
            kind, value = token[0], token[1]
            if kind in ("name", "&"):
                if value != ".":
                    refs.names[_root_name(value)] = None
                    if depth == 0:
                        refs.variables[_root_name(value)] = None
            elif kind in ("#", "^"):
                refs.names[_root_name(value)] = None
                if depth == 0:
                    refs.variables[_root_name(value)] = None
                walk(token[4], depth + 1)
            elif kind == ">":
                refs.partials[value] = None
                if depth == 0:
                    refs.unconditional_partials[value] = None

    walk(parse_template(template, where), 0)
    return refs


class _Missing:
    __slots__ = ()


MISSING: Any = _Missing()
_DATA_TYPES = (str, int, float, bool, dict, list, type(None))
_INDEX = re.compile(r"^(0|[1-9][0-9]*)\Z")


def _own(value: Any, key: str) -> Any:
    """An own data property of JSON data, as JavaScript sees it (a list has indices and ``length``)."""
    if isinstance(value, dict):
        if key in value:
            item = value[key]
            return item if isinstance(item, _DATA_TYPES) else MISSING
        return MISSING
    if isinstance(value, list):
        if key == "length":
            return len(value)
        if _INDEX.match(key) is not None:
            index = int(key)
            if index < len(value):
                item = value[index]
                return item if isinstance(item, _DATA_TYPES) else MISSING
        return MISSING
    return MISSING


def _lookup(stack: List[Any], name: str) -> Any:
    if name == ".":
        return stack[-1]
    head, *rest = name.split(".")
    for index in range(len(stack) - 1, -1, -1):
        value = _own(stack[index], head)
        if value is MISSING:
            continue
        for part in rest:
            value = _own(value, part)
            if value is MISSING:
                return MISSING
        return value
    return MISSING


def _check_depth(value: Any, depth: int) -> None:
    if isinstance(value, (dict, list)):
        if depth > MAX_DATA_DEPTH:
            raise PromptopsError(
                "invalid",
                "invalid_variables",
                f"a value is nested more than {MAX_DATA_DEPTH} levels deep (or is circular)",
                fix="pass JSON data",
            )
        for item in value.values() if isinstance(value, dict) else value:
            _check_depth(item, depth + 1)


def _number_text(value: Any) -> str:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return es_number(value)


def _stringify(value: Any) -> str:
    if value is MISSING or value is None:
        return ""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return _number_text(value)
    if isinstance(value, (dict, list)):
        _check_depth(value, 0)
        return js_json(value)
    return ""


def _is_falsy(value: Any) -> bool:
    return (
        value is MISSING
        or value is None
        or value is False
        or (isinstance(value, str) and value == "")
        or (isinstance(value, list) and len(value) == 0)
    )


def _standalone_indentation(token: Token, source: str) -> str:
    end, indentation, tag_index, line_has_non_space = token[3], token[4], token[5], token[6]
    if not isinstance(indentation, str) or indentation == "" or tag_index != 0 or line_has_non_space is not False:
        return ""
    return indentation if _STANDALONE_AFTER.match(source, end) is not None else ""


def render_template(
    template: str,
    view: Mapping[str, Any],
    partials: Optional[Mapping[str, str]] = None,
    where: str = "template",
) -> str:
    """Renders with HTML escaping off. ``view`` is JSON data; partials come from ``partials`` only, and a
    missing one is an error (``missing_slot``), not an empty string."""
    slots: Mapping[str, str] = partials if partials is not None else {}

    def render(tokens: List[Token], source: str, stack: List[Any], depth: int) -> str:
        out: List[str] = []
        for token in tokens:
            kind, value = token[0], token[1]
            if kind == "text":
                out.append(value)
            elif kind in ("name", "&"):
                out.append(_stringify(_lookup(stack, value)))
            elif kind == "#":
                found = _lookup(stack, value)
                if _is_falsy(found):
                    continue
                if isinstance(found, list):
                    for index in range(len(found)):
                        out.append(render(token[4], source, stack + [_own(found, str(index))], depth))
                else:
                    out.append(render(token[4], source, stack + [found], depth))
            elif kind == "^":
                if _is_falsy(_lookup(stack, value)):
                    out.append(render(token[4], source, stack, depth))
            elif kind == ">":
                if value not in slots:
                    raise PromptopsError(
                        "invalid",
                        "missing_slot",
                        f"{where}: {{{{> {value}}}}} names a slot that does not exist",
                        fix=f'add "{value}" under slots, or remove {{{{> {value}}}}}',
                    )
                if depth >= MAX_PARTIAL_DEPTH:
                    raise PromptopsError(
                        "invalid",
                        "slot_recursion",
                        f"{where}: slots include each other more than {MAX_PARTIAL_DEPTH} levels deep",
                        fix="remove the cycle between slots",
                    )
                indentation = _standalone_indentation(token, source)
                text = slots[value]
                if not isinstance(text, str):
                    text = ""
                if indentation != "":
                    text = _LINE_START.sub(lambda _m: indentation, text)
                out.append(render(parse_template(text, f'slot "{value}"'), text, stack, depth + 1))
            # comments ('!') and delimiter changes ('=') render nothing
        return "".join(out)

    return render(parse_template(template, where), template, [view], 0)
