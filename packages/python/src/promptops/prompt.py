"""Prompt content: its sha, its semantic checks, and rendering with declared variables (core's prompt.ts)."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

from .canonical import content_sha, js_json, js_keys
from .errors import FieldIssue, PromptopsError, format_issues
from .schema import parse_prompt_content
from .template import extract_references, render_template

__all__ = [
    "prompt_sha",
    "render_prompt",
    "resolve_variables",
    "semantic_issues",
    "templates_of",
    "validate_prompt_content",
    "type_matches",
]

RenderedPrompt = Dict[str, Any]
"""``{"type": "text", "text": ...}`` or ``{"type": "chat", "messages": [{"role", "content"}, ...]}``."""


def prompt_sha(content: Mapping[str, Any]) -> str:
    """The version identity: sha256 of the RFC 8785 canonical JSON of the content."""
    return content_sha(content)


def templates_of(content: Mapping[str, Any]) -> List[Tuple[str, str]]:
    """Every template of a prompt with where it sits: ``(path, template)``."""
    out: List[Tuple[str, str]] = []
    if content["type"] == "text":
        out.append(("template", content["template"]))
    else:
        for index, message in enumerate(content["messages"]):
            out.append((f"messages[{index}].content", message["content"]))
    for slot in js_keys(content["slots"]):
        out.append((f"slots.{slot}", content["slots"][slot]))
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def type_matches(kind: str, value: Any) -> bool:
    """Whether ``value`` has the declared variable type (JavaScript's view of JSON data)."""
    if kind == "string":
        return isinstance(value, str)
    if kind == "number":
        return _is_number(value) and not (isinstance(value, float) and (math.isnan(value) or math.isinf(value)))
    if kind == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return True
        return isinstance(value, float) and value.is_integer()
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return kind == "any"


def _shortest_cycle(start: str, includes: Mapping[str, List[str]]) -> Optional[List[str]]:
    previous: Dict[str, str] = {}
    queue = [start]
    index = 0
    while index < len(queue):
        slot = queue[index]
        index += 1
        for following in includes.get(slot, []):
            if following == start:
                chain = [slot]
                at = slot
                while at != start:
                    at = previous[at]
                    chain.insert(0, at)
                return chain
            if following not in previous and following in includes:
                previous[following] = slot
                queue.append(following)
    return None


def _slot_cycle_issues(includes: Mapping[str, List[str]]) -> List[FieldIssue]:
    issues: List[FieldIssue] = []
    reported: Set[str] = set()
    for start in sorted(includes.keys()):
        if start in reported:
            continue
        cycle = _shortest_cycle(start, includes)
        if cycle is None:
            continue
        reported.update(cycle)
        chain = " -> ".join(cycle + [start])
        issues.append(
            {
                "path": f"slots.{start}",
                "message": f'slot "{start}" always includes itself ({chain}), so it can never finish rendering: remove '
                "one of these {{> ...}}, or put it inside a {{#section}} that the data ends",
            }
        )
    return issues


def semantic_issues(content: Mapping[str, Any]) -> List[FieldIssue]:
    """Every variable a template reads is declared, every partial names a slot, no slot always includes
    itself, defaults have the declared type."""
    issues: List[FieldIssue] = []
    declared = content["variables"]
    includes: Dict[str, List[str]] = {}
    for path, template in templates_of(content):
        try:
            refs = extract_references(template, path)
        except PromptopsError as error:
            issues.append({"path": path, "message": error.message})
            continue
        if path.startswith("slots."):
            includes[path[len("slots.") :]] = list(refs.unconditional_partials)
        for name in refs.variables:
            if name not in declared:
                issues.append(
                    {
                        "path": path,
                        "message": f"variable {{{{{name}}}}} is used in {path} but not declared in variables; add "
                        f'"{name}: {{ type: string }}" under variables',
                    }
                )
        for slot in refs.partials:
            if slot not in content["slots"]:
                issues.append(
                    {"path": path, "message": f'{{{{> {slot}}}}} names a slot that is not declared; add "{slot}" under slots'}
                )
    issues.extend(_slot_cycle_issues(includes))
    for name in js_keys(declared):
        spec = declared[name]
        if "default" in spec and not type_matches(spec["type"], spec["default"]):
            issues.append(
                {
                    "path": f"variables.{name}.default",
                    "message": f"default {js_json(spec['default'])} is not of type {spec['type']}",
                }
            )
    return issues


def validate_prompt_content(value: Any, what: str = "prompt content") -> Dict[str, Any]:
    """Schema plus semantics: the gate every version passes before it is hashed or stored."""
    content = parse_prompt_content(value, what)
    issues = semantic_issues(content)
    if issues:
        raise PromptopsError(
            "invalid",
            "invalid_prompt",
            f"{what} is invalid:\n{format_issues(issues)}",
            issues=issues,
            fix="declare every variable the templates use and every slot they include, and break slot cycles",
        )
    return content


def _is_json_data(value: Any, depth: int = 0) -> bool:
    if depth > 64:
        return False
    if value is None or isinstance(value, (str, bool, int, float)):
        return True
    if isinstance(value, list):
        return all(_is_json_data(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _is_json_data(item, depth + 1) for key, item in value.items())
    return False


def _type_name(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


def resolve_variables(content: Mapping[str, Any], variables: Mapping[str, Any]) -> Dict[str, Any]:
    """Applies defaults and refuses missing required variables, undeclared ones, wrong types and anything
    that is not JSON data (``invalid_variables``, naming each)."""
    problems: List[str] = []
    view: Dict[str, Any] = {}
    declared = content["variables"]
    for name in js_keys(dict(variables)):
        if name not in declared:
            names = ", ".join(js_keys(declared)) or "none"
            problems.append(
                f'variable "{name}" is not declared by the prompt (declared: {names}); remove it or declare it in the prompt'
            )
    for name in js_keys(declared):
        spec = declared[name]
        if name in variables:
            value = variables[name]
        elif "default" in spec:
            value = spec["default"]
        else:
            if spec.get("required"):
                problems.append(f"variable {{{{{name}}}}} is required but was not provided")
            continue
        if not _is_json_data(value):
            problems.append(
                f"variable {{{{{name}}}}} must be JSON data (string, number, boolean, null, array or plain object)"
            )
        elif not type_matches(spec["type"], value):
            problems.append(f"variable {{{{{name}}}}} must be of type {spec['type']}, got {_type_name(value)}")
        else:
            view[name] = value
    if problems:
        raise PromptopsError(
            "invalid",
            "invalid_variables",
            f"prompt '{content['name']}': {'; '.join(problems)}",
            issues=[{"path": "variables", "message": message} for message in problems],
            fix="pass every required variable declared by the prompt, and only those",
        )
    return view


def render_prompt(
    content: Mapping[str, Any],
    variables: Optional[Mapping[str, Any]] = None,
    slots: Optional[Mapping[str, str]] = None,
) -> RenderedPrompt:
    """Renders a prompt: ``{"type": "text", "text"}``, or chat messages with each content rendered."""
    view = resolve_variables(content, variables or {})
    partials = content["slots"] if slots is None else slots
    name = content["name"]
    if content["type"] == "text":
        text = render_template(content["template"], view, partials, f"prompt '{name}' template")
        return {"type": "text", "text": text}
    messages = []
    for index, message in enumerate(content["messages"]):
        rendered = render_template(message["content"], view, partials, f"prompt '{name}' messages[{index}].content")
        messages.append({"role": message["role"], "content": rendered})
    return {"type": "chat", "messages": messages}
