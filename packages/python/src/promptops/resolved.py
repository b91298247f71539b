"""What ``client.get`` returns: the version served, and how to render it or call OpenAI with it."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from .errors import PromptopsError
from .prompt import RenderedPrompt, render_prompt

__all__ = ["ResolvedPrompt", "PromptMessages", "prompt_link_of", "to_openai_request"]


class PromptLink:
    """The prompt and variables an OpenAI request was built from (read by ``instrument_openai``)."""

    __slots__ = ("prompt", "variables")

    def __init__(self, prompt: "ResolvedPrompt", variables: Dict[str, Any]) -> None:
        self.prompt = prompt
        self.variables = variables


class PromptMessages(List[Dict[str, str]]):
    """The ``messages`` list of ``to_openai()``: a plain list to ``openai`` and to JSON, that also carries
    the link to the prompt it came from. It survives ``create(**request)`` (the dict is copied, the list
    is passed as is), where a key or an attribute on the dict would be lost."""

    __slots__ = ("_promptops_link",)


def prompt_link_of(params: Any) -> Optional[PromptLink]:
    """The prompt and variables a request (its kwargs) was built from, when it came from ``to_openai``."""
    messages = params.get("messages") if isinstance(params, Mapping) else None
    link = getattr(messages, "_promptops_link", None) if isinstance(messages, PromptMessages) else None
    return link if isinstance(link, PromptLink) else None


def to_openai_request(content: Mapping[str, Any], rendered: RenderedPrompt, model: Optional[str] = None) -> Dict[str, Any]:
    """``{model, messages, **params}`` for ``openai.chat.completions.create``: the prompt's model, its
    rendered messages (a text prompt is one user message) and its model parameters."""
    chosen = model if model is not None else content["config"].get("model")
    if chosen is None:
        raise PromptopsError(
            "invalid",
            "missing_model",
            f"prompt '{content['name']}' names no model (config.model)",
            fix="set model.name in the prompt file, or pass to_openai(vars, model=...)",
        )
    messages = PromptMessages()
    if rendered["type"] == "text":
        messages.append({"role": "user", "content": rendered["text"]})
    else:
        for message in rendered["messages"]:
            messages.append({"role": message["role"], "content": message["content"]})
    request: Dict[str, Any] = {"model": chosen, "messages": messages}
    for key, value in content["config"]["params"].items():
        # model and messages come from the prompt itself; a param cannot replace them.
        if key not in ("model", "messages", "__proto__"):
            request[key] = value
    return request


class ResolvedPrompt:
    """The version served for a name (and label or ref). Cached per (name, label) and shared between
    calls until the label moves: immutable (its ``content`` is shared too: do not modify it).

    - ``name``, ``version``, ``sha``: the version (``version`` is 0 for an in-code default)
    - ``label``: the label that resolved it; None when pinned by sha or version
    - ``variant``: ``'base'`` (no rollout on the label), or the arm of its rollout: ``'baseline'`` or
      ``'candidate'`` (picked by ``get(..., unit_key=...)``)
    - ``rollout_id``: the label's active rollout, or None
    - ``shadow``: under a shadow rollout, the candidate (a ResolvedPrompt) to run on a copy of the call
      and record, never to return; else None
    - ``source``: ``'snapshot'`` (the registry's: live, cached on disk or prefetched) or ``'fallback'``
    - ``release_sha``: the lockfile's release sha when the client was given a lockfile, else None
    - ``tenant``: the tenant asked for (``get(..., tenant=...)``), else None. Then ``sha`` is the effective
      sha (of ``content``, the tenant's override applied), ``base_sha`` the version's it was built on, and
      ``override_sha`` the override's (None when no override of the tenant applies, so ``sha == base_sha``)
    """

    __slots__ = (
        "name",
        "version",
        "sha",
        "label",
        "variant",
        "source",
        "release_sha",
        "content",
        "rollout_id",
        "shadow",
        "tenant",
        "base_sha",
        "override_sha",
    )

    name: str
    version: int
    sha: str
    label: Optional[str]
    variant: str
    source: str
    release_sha: Optional[str]
    content: Dict[str, Any]
    rollout_id: Optional[str]
    shadow: Optional["ResolvedPrompt"]
    tenant: Optional[str]
    base_sha: str
    override_sha: Optional[str]

    def __init__(
        self,
        name: str,
        version: int,
        sha: str,
        label: Optional[str],
        variant: str,
        source: str,
        release_sha: Optional[str],
        content: Dict[str, Any],
        rollout_id: Optional[str] = None,
        shadow: Optional["ResolvedPrompt"] = None,
        tenant: Optional[str] = None,
        base_sha: Optional[str] = None,
        override_sha: Optional[str] = None,
    ) -> None:
        setter = object.__setattr__
        setter(self, "tenant", tenant)
        setter(self, "base_sha", sha if base_sha is None else base_sha)
        setter(self, "override_sha", override_sha)
        setter(self, "rollout_id", rollout_id)
        setter(self, "shadow", shadow)
        setter(self, "name", name)
        setter(self, "version", version)
        setter(self, "sha", sha)
        setter(self, "label", label)
        setter(self, "variant", variant)
        setter(self, "source", source)
        setter(self, "release_sha", release_sha)
        setter(self, "content", content)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"ResolvedPrompt is immutable (cannot set {key})")

    def __delattr__(self, key: str) -> None:
        raise AttributeError(f"ResolvedPrompt is immutable (cannot delete {key})")

    def __repr__(self) -> str:
        return (
            f"ResolvedPrompt(name={self.name!r}, version={self.version}, sha={self.sha[:7]!r}, "
            f"label={self.label!r}, variant={self.variant!r}, source={self.source!r}"
            + ("" if self.tenant is None else f", tenant={self.tenant!r}")
            + ")"
        )

    def render(self, variables: Optional[Mapping[str, Any]] = None) -> RenderedPrompt:
        """``{"type": "text", "text"}`` or ``{"type": "chat", "messages"}``; raises ``invalid_variables``
        naming every missing, undeclared or mistyped variable."""
        return render_prompt(self.content, variables or {})

    def to_openai(self, variables: Optional[Mapping[str, Any]] = None, model: Optional[str] = None) -> Dict[str, Any]:
        """The kwargs for ``openai.chat.completions.create(**prompt.to_openai(vars))``: ``model``,
        ``messages`` and the prompt's parameters. Raises ``missing_model`` when the prompt names no model
        and none is passed. The messages carry a link that ``instrument_openai`` reads; nothing extra is
        sent to the provider."""
        given = dict(variables or {})
        request = to_openai_request(self.content, self.render(given), model)
        object.__setattr__(request["messages"], "_promptops_link", PromptLink(self, given))
        return request

    def to_trace(self) -> Dict[str, Any]:
        """What a trace records of this prompt."""
        return {
            "name": self.name,
            "version": self.version,
            "sha": self.sha,
            "label": self.label,
            "variant": self.variant,
            "source": self.source,
            "release_sha": self.release_sha,
        }
