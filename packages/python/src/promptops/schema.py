"""The shape of prompt content (core's ``promptContentSchema`` and ``inputIssues``), checked field by field
with the same paths and, for the usual mistakes, the same messages. Used for in-code defaults and
lockfile entries; content from the server is proven by its sha instead."""

from __future__ import annotations

import math
import re
from typing import Any, Callable, Dict, List, Optional, Sequence, Union, cast

from .canonical import format_path, js_keys, lone_surrogate_problem
from .errors import FieldIssue, PromptopsError
from .refs import PROMPT_NAME_PATTERN

__all__ = ["parse_prompt_content", "content_shape_issues", "input_issues", "js_type", "CONTENT_LIMITS"]

MAX_PROMPT_NAME_LENGTH = 200
MESSAGE_ROLES = ("system", "developer", "user", "assistant")
VARIABLE_TYPES = ("string", "number", "integer", "boolean", "object", "array", "any")
CONTENT_LIMITS = {
    "templateCharacters": 256 * 1024,
    "totalTemplateCharacters": 1024 * 1024,
    "messages": 500,
    "slots": 100,
    "variables": 200,
    "nameCharacters": 100,
    "depth": 64,
}
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
_MAX_INPUT_ISSUES = 20

Path = List[Union[str, int]]


def js_type(value: Any) -> str:
    """What zod calls a value's type in "expected X, received Y"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "unknown"


def _count(n: int) -> str:
    return f"{n:,}"


def _js_len(text: str) -> int:
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


class _Issues:
    def __init__(self) -> None:
        self.items: List[FieldIssue] = []

    def add(self, path: Path, message: str) -> None:
        self.items.append({"path": format_path(path), "message": message})

    def expected(self, path: Path, expected: str, value: Any) -> None:
        received = "undefined" if value is _ABSENT else js_type(value)
        self.add(path, f"Invalid input: expected {expected}, received {received}")


class _Absent:
    pass


_ABSENT: Any = _Absent()


def _strict(
    issues: _Issues, value: Dict[str, Any], path: Path, fields: Sequence[str], check: Callable[[str, Any], None]
) -> None:
    for field in fields:
        check(field, value.get(field, _ABSENT))
    unknown = [key for key in js_keys(value) if key not in fields]
    if unknown:
        names = ", ".join(f'"{key}"' for key in unknown)
        for key in unknown:
            issues.add(path + [key], f"unknown field {names}; allowed fields: {', '.join(fields)}")


def _is_json(value: Any, depth: int = 0) -> bool:
    if depth > 200:
        return False
    if value is None or isinstance(value, (str, bool)):
        return True
    if isinstance(value, (int, float)):
        return not (isinstance(value, float) and (math.isnan(value) or math.isinf(value)))
    if isinstance(value, list):
        return all(_is_json(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _is_json(item, depth + 1) for key, item in value.items())
    return False


def _template_text(issues: _Issues, path: Path, value: Any, not_string: str) -> None:
    if not isinstance(value, str):
        issues.add(path, not_string)
    elif _js_len(value) > CONTENT_LIMITS["templateCharacters"]:
        issues.add(
            path,
            f"has {_count(_js_len(value))} characters; the limit is {_count(CONTENT_LIMITS['templateCharacters'])} per "
            "template, message or slot: pass long reference text in a variable, or split it into slots",
        )


def _json_record(issues: _Issues, path: Path, value: Any) -> bool:
    if not isinstance(value, dict):
        issues.expected(path, "record", value)
        return False
    for key in js_keys(value):
        if not _is_json(value[key]):
            issues.add(path + [key], "Invalid JSON")
    return True


def _config(issues: _Issues, path: Path, value: Any) -> None:
    if not isinstance(value, dict):
        issues.expected(path, "object", value)
        return

    def check(field: str, item: Any) -> None:
        if field in ("provider", "model"):
            if item is _ABSENT:
                return
            if not isinstance(item, str):
                issues.expected(path + [field], "string", item)
            elif item == "":
                issues.add(path + [field], "Too small: expected string to have >=1 characters")
        elif field == "params":
            if item is _ABSENT:
                issues.expected(path + [field], "record", item)
            elif _json_record(issues, path + [field], item):
                for key in ("provider", "name"):
                    if key in item:
                        what = "model name" if key == "name" else "provider"
                        use = "model" if key == "name" else "provider"
                        issues.add(
                            path + [field, key],
                            f'"{key}" cannot be a model parameter (a prompt file reads model.{key} as the {what}); '
                            f"use config.{use}",
                        )

    _strict(issues, value, path, ("provider", "model", "params"), check)


def _variable_spec(issues: _Issues, path: Path, value: Any) -> None:
    if not isinstance(value, dict):
        issues.expected(path, "object", value)
        return

    def check(field: str, item: Any) -> None:
        if field == "type":
            if item not in VARIABLE_TYPES:
                issues.add(path + [field], f"type must be one of {', '.join(VARIABLE_TYPES)}")
        elif field == "required":
            if not isinstance(item, bool):
                issues.expected(path + [field], "boolean", item)
        elif field == "default":
            if item is not _ABSENT and not _is_json(item):
                issues.add(path + [field], "Invalid JSON")
        elif field == "description":
            if item is not _ABSENT and not isinstance(item, str):
                issues.expected(path + [field], "string", item)
        elif field == "schema":
            if item is not _ABSENT:
                _json_record(issues, path + [field], item)

    _strict(issues, value, path, ("type", "required", "default", "description", "schema"), check)


def _named_record(
    issues: _Issues, path: Path, value: Any, what: str, limit: int, fix: str, item_check: Callable[[Path, Any], None]
) -> None:
    if not isinstance(value, dict):
        issues.expected(path, "record", value)
        return
    for key in js_keys(value):
        if _VARIABLE_NAME.match(key) is None or _js_len(key) > CONTENT_LIMITS["nameCharacters"]:
            issues.add(path + [key], "Invalid key in record")
            continue
        item_check(path + [key], value[key])
    if len(value) > limit:
        issues.add(path, f"{_count(len(value))} {what}; the limit is {_count(limit)}: {fix}")


def _messages(issues: _Issues, path: Path, value: Any) -> None:
    if not isinstance(value, list):
        issues.expected(path, "array", value)
        return
    if len(value) == 0:
        issues.add(path, "a chat prompt needs at least one message")
    if len(value) > CONTENT_LIMITS["messages"]:
        issues.add(
            path,
            f"a chat prompt has at most {_count(CONTENT_LIMITS['messages'])} messages: merge consecutive messages of one role",
        )
    for index, message in enumerate(value):
        at = path + [index]
        if not isinstance(message, dict):
            issues.expected(at, "object", message)
            continue

        def check(field: str, item: Any, at: Path = at) -> None:
            if field == "role":
                if item not in MESSAGE_ROLES:
                    issues.add(at + [field], f"role must be one of {', '.join(MESSAGE_ROLES)}")
            else:
                _template_text(issues, at + [field], item, "content must be a string (the message template)")

        _strict(issues, message, at, ("role", "content"), check)


def content_shape_issues(value: Any) -> List[FieldIssue]:
    """What the schema refuses in ``value`` as prompt content (empty when it is well-formed)."""
    issues = _Issues()
    kind = value.get("type") if isinstance(value, dict) else None
    if not isinstance(value, dict) or kind not in ("text", "chat"):
        issues.add([] if not isinstance(value, dict) else ["type"], 'type must be "text" or "chat"')
        return issues.items
    last = "template" if kind == "text" else "messages"

    def check(field: str, item: Any) -> None:
        if field == "name":
            if not isinstance(item, str):
                issues.expected([field], "string", item)
            else:
                if _js_len(item) > MAX_PROMPT_NAME_LENGTH:
                    issues.add([field], f"a prompt name has at most {MAX_PROMPT_NAME_LENGTH} characters")
                if PROMPT_NAME_PATTERN.match(item) is None:
                    issues.add(
                        [field],
                        'a prompt name is lowercase letters, digits, "_", "." and "-", starting with a letter or digit, '
                        'with "/" between folders (e.g. "support/greeter")',
                    )
        elif field == "config":
            _config(issues, [field], item)
        elif field == "variables":
            _named_record(
                issues,
                [field],
                item,
                "variables",
                CONTENT_LIMITS["variables"],
                "declare fewer, or pass related values as one object",
                lambda at, spec: _variable_spec(issues, at, spec),
            )
        elif field == "slots":
            _named_record(
                issues,
                [field],
                item,
                "slots",
                CONTENT_LIMITS["slots"],
                "merge slots that always change together",
                lambda at, text: _template_text(issues, at, text, "a slot must be a string (a template)"),
            )
        elif field == "template":
            _template_text(issues, [field], item, "template must be a string")
        elif field == "messages":
            _messages(issues, [field], item)

    _strict(issues, value, [], ("name", "config", "variables", "slots", "type", last), check)
    if not issues.items:
        total = _js_len(value.get("template", ""))
        total += sum(_js_len(m["content"]) for m in value.get("messages", []))
        total += sum(_js_len(s) for s in value["slots"].values())
        if total > CONTENT_LIMITS["totalTemplateCharacters"]:
            issues.add(
                [],
                f"the templates, messages and slots hold {_count(total)} characters in all; the limit is "
                f"{_count(CONTENT_LIMITS['totalTemplateCharacters'])}: pass long reference text in variables",
            )
    return issues.items


def input_issues(value: Any, prefix: Optional[Path] = None, max_depth: int = CONTENT_LIMITS["depth"]) -> List[FieldIssue]:
    """What untrusted JSON must not hold before it is validated or hashed (core's ``inputIssues``)."""
    issues: List[FieldIssue] = []

    def visit(inner: Any, path: Path, depth: int) -> None:
        if len(issues) >= _MAX_INPUT_ISSUES:
            return
        if isinstance(inner, float) and (math.isnan(inner) or math.isinf(inner)):
            text = "NaN" if math.isnan(inner) else ("Infinity" if inner > 0 else "-Infinity")
            issues.append({"path": format_path(path), "message": f"{text} is not a finite number: send a number JSON can hold"})
            return
        if isinstance(inner, str):
            problem = lone_surrogate_problem(inner)
            if problem is not None:
                issues.append({"path": format_path(path), "message": problem})
            return
        if isinstance(inner, dict):
            entries = [(key, inner[key]) for key in js_keys(inner)]
        elif isinstance(inner, list):
            entries = list(enumerate(inner))  # type: ignore[arg-type]
        else:
            return
        if depth >= max_depth and entries:
            issues.append(
                {
                    "path": format_path(path),
                    "message": f"nests more than {max_depth} levels deep (counted from the top of the document): flatten the value",
                }
            )
            return
        for key, item in entries:
            item_path = path + [key]
            key_problem = lone_surrogate_problem(key) if isinstance(key, str) else None
            if key == "__proto__":
                issues.append({"path": format_path(item_path), "message": 'the key "__proto__" is not allowed'})
            elif key_problem is not None:
                issues.append({"path": format_path(item_path), "message": f"the key {key_problem}"})
            else:
                visit(item, item_path, depth + 1)

    visit(value, list(prefix or []), 0)
    return issues


def parse_prompt_content(value: Any, what: str = "prompt content") -> Dict[str, Any]:
    """Checks ``value`` as prompt content (schema only); ``invalid_prompt`` naming each field."""
    issues = input_issues(value) or content_shape_issues(value)
    if issues:
        lines = "\n".join(f"  - {issue['path'] or '(root)'}: {issue['message']}" for issue in issues)
        raise PromptopsError(
            "invalid",
            "invalid_prompt",
            f"{what} is invalid:\n{lines}",
            issues=issues,
            fix="correct the fields listed in issues",
        )
    return cast(Dict[str, Any], value)
