"""Tenant overrides, as core's ``overrides.ts``: replacement text for named slots, defaults for declared
variables and a small patch of model params. The effective prompt is the base with the override applied;
its sha is the sha of that content alone (the base sha when nothing changes)."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional

from .canonical import content_sha
from .errors import FieldIssue, PromptopsError, format_issues

_FIELDS = ("slots", "variables", "params")
_PARAMS = ("temperature", "maxTokens", "model")
_TEMPLATE_CHARACTERS = 256 * 1024


def _invalid(issues: List[FieldIssue]) -> PromptopsError:
    return PromptopsError(
        "invalid",
        "invalid_override",
        f"the override is invalid:\n{format_issues(issues)}",
        issues=issues,
        fix="an override sets only slots (text), variables (defaults) and params (temperature, maxTokens, model)",
    )


def _proto_issues(value: Any, path: str, out: List[FieldIssue]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            where = f"{path}.{key}" if path else key
            if key == "__proto__":
                out.append({"path": where, "message": 'the key "__proto__" is not allowed'})
            else:
                _proto_issues(inner, where, out)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _proto_issues(inner, f"{path}[{index}]", out)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def parse_override(value: Any) -> Dict[str, Any]:
    """Parses untrusted input as an override (shape only), normalized: empty sections dropped."""
    if not isinstance(value, dict):
        raise _invalid([{"path": "", "message": "an override is an object with slots, variables and params"}])
    issues: List[FieldIssue] = []
    _proto_issues(value, "", issues)
    if issues:
        raise _invalid(issues)
    unknown = [key for key in value if key not in _FIELDS]
    if unknown:
        raise _invalid([{"path": key, "message": f'unknown field "{key}"'} for key in unknown])
    slots = value.get("slots", {})
    variables = value.get("variables", {})
    params = value.get("params", {})
    for name, section in (("slots", slots), ("variables", variables), ("params", params)):
        if not isinstance(section, dict):
            issues.append({"path": name, "message": f"{name} must be an object"})
    if issues:
        raise _invalid(issues)
    for slot, text in slots.items():
        if not isinstance(text, str) or len(text) > _TEMPLATE_CHARACTERS:
            issues.append({"path": f"slots.{slot}", "message": "a slot override must be a string (the slot template)"})
    for key, param in params.items():
        if key not in _PARAMS:
            issues.append({"path": f"params.{key}", "message": f'unknown field "{key}"'})
        elif key == "temperature" and not (_is_number(param) and 0 <= param <= 2):
            issues.append({"path": "params.temperature", "message": "temperature must be a number from 0 to 2"})
        elif key == "maxTokens" and not (_is_number(param) and float(param).is_integer() and param > 0):
            issues.append({"path": "params.maxTokens", "message": "maxTokens must be a positive integer"})
        elif key == "model" and not (isinstance(param, str) and param != ""):
            issues.append({"path": "params.model", "message": "model must be a model name"})
    if issues:
        raise _invalid(issues)
    out: Dict[str, Any] = {}
    if slots:
        out["slots"] = dict(slots)
    if variables:
        out["variables"] = dict(variables)
    if params:
        out["params"] = dict(params)
    return out


def check_override(base: Mapping[str, Any], override: Mapping[str, Any]) -> None:
    """Refuses a slot or variable the base does not declare, listing those it has."""
    slots = sorted(base["slots"])
    missing = [slot for slot in override.get("slots", {}) if slot not in base["slots"]]
    if missing:
        names = ", ".join(f"'{slot}'" for slot in missing)
        raise PromptopsError(
            "invalid",
            "override_unknown_slot",
            f"the override names slot{'s' if len(missing) > 1 else ''} {names} that prompt '{base['name']}'"
            f" does not have; its slots: {', '.join(slots) or 'none'}",
            details={"missing": missing, "slots": slots},
            fix="override only slots the prompt declares, or add the slot to the prompt first",
        )
    unknown = [name for name in override.get("variables", {}) if name not in base["variables"]]
    if unknown:
        raise _invalid(
            [{"path": f"variables.{name}", "message": f"prompt '{base['name']}' declares no variable '{name}'"} for name in unknown]
        )


def override_sha(override: Mapping[str, Any]) -> str:
    return content_sha(parse_override(dict(override)))


def apply_override(base: Mapping[str, Any], override: Mapping[str, Any]) -> Dict[str, Any]:
    if not override:
        return dict(base)
    variables = dict(base["variables"])
    for name, value in override.get("variables", {}).items():
        variables[name] = {**variables[name], "default": value}
    params = dict(base["config"]["params"])
    patch = override.get("params", {})
    if "temperature" in patch:
        params["temperature"] = patch["temperature"]
    if "maxTokens" in patch:
        params["max_tokens"] = patch["maxTokens"]
    config = {**base["config"], "params": params}
    if "model" in patch:
        config["model"] = patch["model"]
    return {**base, "config": config, "variables": variables, "slots": {**base["slots"], **override.get("slots", {})}}


def effective_prompt(base: Mapping[str, Any], override: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """``{content, sha, baseSha, overrideSha}``, as core's ``effectivePrompt``."""
    base_sha = content_sha(base)
    if override is None:
        return {"content": dict(base), "sha": base_sha, "baseSha": base_sha, "overrideSha": None}
    check_override(base, override)
    content = apply_override(base, override)
    return {
        "content": content,
        "sha": base_sha if not override else content_sha(content),
        "baseSha": base_sha,
        "overrideSha": override_sha(override),
    }
