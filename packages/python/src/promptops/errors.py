"""Errors as data, like core's ``PromptopsError``: a stable ``code``, a ``kind``, a message naming the
value and the fix, and optional structured details."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

ERROR_KINDS = (
    "invalid",
    "unauthorized",
    "forbidden",
    "not_found",
    "conflict",
    "unprocessable",
    "too_large",
    "internal",
)

FieldIssue = Dict[str, str]
"""``{"path": "messages[0].content", "message": "..."}``"""


class PromptopsError(Exception):
    """Every failure the SDK reports: switch on ``code`` (``prompt_not_found``, ``invalid_variables``...)."""

    def __init__(
        self,
        kind: str,
        code: str,
        message: str,
        *,
        fix: Optional[str] = None,
        issues: Optional[Sequence[FieldIssue]] = None,
        details: Optional[Mapping[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.message = message
        self.fix = fix
        self.issues: Optional[List[FieldIssue]] = None if issues is None else [dict(i) for i in issues]
        self.details: Optional[Dict[str, Any]] = None if details is None else dict(details)

    def to_json(self) -> Dict[str, Any]:
        """The server's error body shape: ``{code, message, fix?, issues?, details?}``."""
        out: Dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fix is not None:
            out["fix"] = self.fix
        if self.issues is not None:
            out["issues"] = self.issues
        if self.details is not None:
            out["details"] = self.details
        return out

    def __repr__(self) -> str:
        return f"PromptopsError({self.code!r}, {self.message!r})"


def format_issues(issues: Sequence[FieldIssue]) -> str:
    """One readable block, one issue per line (core's ``formatIssues``)."""
    return "\n".join(f"  - {issue.get('path') or '(root)'}: {issue.get('message', '')}" for issue in issues)


def to_promptops_error(error: BaseException, code: str = "internal", context: Optional[str] = None) -> PromptopsError:
    """Anything the client reports goes out as a PromptopsError, so apps can switch on ``code``."""
    if isinstance(error, PromptopsError):
        return error
    message = str(error)
    return PromptopsError("internal", code, message if context is None else f"{context}: {message}")
