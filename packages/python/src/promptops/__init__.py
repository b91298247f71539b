"""promptops: resolve prompts from a live, verified in-memory snapshot of a promptops registry.

```python
from promptops import Client

promptops = Client(url, api_key, fallback_lockfile="promptops.lock").ready()
prompt = promptops.get("customer_support_greeter")          # label production, from memory
messages = prompt.render({"user_name": "Ada", "question": "..."})
```

Standard library only. The same behaviour as the TypeScript SDK (``@promptops/sdk``), proven by the
shared conformance vectors.
"""

from __future__ import annotations

from .canonical import canonical_json, content_sha, es_number
from .client import ChangeEvent, Client
from .errors import PromptopsError
from .lockfile import create_lockfile, format_lockfile, parse_lockfile, release_sha_of
from .prompt import prompt_sha, render_prompt, resolve_variables, validate_prompt_content
from .refs import parse_name_ref, parse_ref
from .resolved import ResolvedPrompt
from .snapshot import DEFAULT_LABEL, Snapshot, resolve_from_snapshot
from .template import render_template
from .trace.openai import instrument_openai
from .trace.otel import prompt_span, set_prompt_attributes

__version__ = "0.1.0"

__all__ = [
    "Client",
    "ChangeEvent",
    "DEFAULT_LABEL",
    "PromptopsError",
    "ResolvedPrompt",
    "Snapshot",
    "canonical_json",
    "content_sha",
    "create_lockfile",
    "es_number",
    "format_lockfile",
    "instrument_openai",
    "parse_lockfile",
    "parse_name_ref",
    "parse_ref",
    "prompt_sha",
    "prompt_span",
    "release_sha_of",
    "render_prompt",
    "render_template",
    "resolve_from_snapshot",
    "resolve_variables",
    "set_prompt_attributes",
    "validate_prompt_content",
]
