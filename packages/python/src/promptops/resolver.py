"""Synchronous resolution from memory (the SDK's resolver.ts).

The registry's snapshot first (``resolve_from_snapshot``, core's one resolution), then prefetched pins,
then the fallback. Results are cached per (label, name) and per ref string, so ``get`` is one dict lookup
with no lock and no allocation. A change to a prompt evicts that prompt's entries; a new snapshot evicts
all. Misses resolve under a lock that the updates take too, so a result computed from an older snapshot
is never stored after that snapshot was replaced.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from .errors import PromptopsError
from .fallback import EMPTY_FALLBACK, Fallback, fallback_miss, resolve_fallback
from .resolved import ResolvedPrompt
from .snapshot import (
    DEFAULT_LABEL,
    EMPTY_SNAPSHOT,
    Resolution,
    Snapshot,
    SnapshotPrompt,
    SnapshotVersion,
    resolve_from_snapshot,
    resolve_tenant,
)

__all__ = ["Resolver", "RegistryOutage"]

_UNREACHABLE = ("server_unreachable", "server_timeout")
TENANT_CACHE_MAX = 10_000
"""Tenant results held in all; past it the tenant cache starts over."""

RegistryOutage = Tuple[str, Optional[PromptopsError]]
"""``(url, last problem)``: set until a snapshot came from the registry."""


def not_served_while_offline(
    outage: RegistryOutage, what: str, name: str, label: str, ref: Optional[str], miss: str, details: Dict[str, Any]
) -> PromptopsError:
    """A prompt neither the registry nor the fallback can serve while the registry has not been reached."""
    url, problem = outage
    if problem is None:
        server = f"the server {url} has not answered yet"
    elif problem.code in _UNREACHABLE:
        server = f"the server {url} could not be reached ({problem.message})"
    else:
        server = f"the server {url} could not be used ({problem.message})"
    pin = (
        f"`promptops lock --embed --label {label}` once it has a '{label}' version"
        if ref is None
        else f"`promptops lock --embed` while its label serves {name}@{ref}"
    )
    return PromptopsError(
        "not_found",
        "prompt_not_found",
        f"prompt {what} not found: {server}, and {miss}",
        fix=f"make the server reachable (check the client's url, e.g. PROMPTOPS_URL, and its key), or ship a lockfile that holds '{name}': {pin}",
        details={**details, "server": url, "cause": None if problem is None else problem.code},
    )


class Resolver:
    def __init__(self) -> None:
        self.snapshot: Snapshot = EMPTY_SNAPSHOT
        self._pins: Snapshot = EMPTY_SNAPSHOT
        self.fallback: Fallback = EMPTY_FALLBACK
        self.by_default: Dict[str, ResolvedPrompt] = {}
        """The default label's results, held directly: ``get(name)`` is one lookup. Never replaced."""
        self._by_label: Dict[str, Dict[str, ResolvedPrompt]] = {DEFAULT_LABEL: self.by_default}
        self._by_ref: Dict[str, ResolvedPrompt] = {}
        self._by_arm: Dict[Tuple[Any, ...], ResolvedPrompt] = {}
        self._by_tenant: Dict[Tuple[int, str], Tuple[ResolvedPrompt, ResolvedPrompt]] = {}
        """(id of the shared result, tenant) -> (that shared result, the tenant's). Holding the shared
        result keeps its id from being reused; dropped with the shared results."""
        """Results under a rollout, per (label, name or ref, variant, sha, shadow sha)."""
        self.lock = threading.RLock()
        self.loaded = False
        """Set once the client has tried the server: before that, errors say to call ready()."""
        self.outage: Callable[[], Optional[RegistryOutage]] = lambda: None

    @property
    def release_sha(self) -> Optional[str]:
        return self.fallback.release_sha

    @property
    def has_content(self) -> bool:
        """Whether anything at all can be served."""
        fallback = self.fallback
        return bool(self.snapshot.prompts or fallback.lock.prompts or fallback.unlabelled or fallback.defaults)

    # ---- updates (any thread) ----------------------------------------------------------------------

    def set_snapshot(self, snapshot: Snapshot) -> None:
        with self.lock:
            self.snapshot = snapshot
            self._clear()

    def update_snapshot(self, snapshot: Snapshot, name: Optional[str]) -> None:
        """A snapshot that differs from the current one in ``name`` only (an applied event)."""
        with self.lock:
            self.snapshot = snapshot
            if name is not None:
                for cache in self._by_label.values():
                    cache.pop(name, None)
                self._by_ref.clear()
                self._by_arm.clear()
                self._by_tenant = {}

    def set_fallback(self, fallback: Fallback) -> None:
        with self.lock:
            self.fallback = fallback
            self._clear()

    def add_pin(self, name: str, version: SnapshotVersion) -> None:
        with self.lock:
            before = self._pins.prompts.get(name)
            versions = dict(before.versions) if before is not None else {}
            versions[version.sha] = version
            prompts = dict(self._pins.prompts)
            prompts[name] = SnapshotPrompt({}, versions)
            self._pins = Snapshot("", 0, prompts)
            self._by_ref.clear()

    def _clear(self) -> None:
        for cache in self._by_label.values():
            cache.clear()
        self._by_ref.clear()
        self._by_arm.clear()
        self._by_tenant = {}

    # ---- resolution --------------------------------------------------------------------------------

    def get(
        self,
        name_or_ref: str,
        label: str = DEFAULT_LABEL,
        sha: Optional[str] = None,
        unit_key: Optional[str] = None,
        context: Optional[Mapping[str, Any]] = None,
        tenant: Optional[str] = None,
    ) -> ResolvedPrompt:
        """The cached result, else resolves (under the lock) and caches it; raises ``prompt_not_found``.
        ``unit_key`` picks the arm when the label is under a rollout, ``context`` feeds its targeting rules;
        ``tenant`` applies that tenant's own override to the shared result."""
        shared = self._shared(name_or_ref, label, sha, unit_key, context)
        return shared if tenant is None else self._for_tenant(shared, tenant)

    def _shared(
        self,
        name_or_ref: str,
        label: str,
        sha: Optional[str],
        unit_key: Optional[str],
        context: Optional[Mapping[str, Any]],
    ) -> ResolvedPrompt:
        if label is None:
            label = DEFAULT_LABEL
        if (unit_key or context) and sha is None and isinstance(name_or_ref, str):
            at = name_or_ref.find("@")
            prompt = self.snapshot.prompts.get(name_or_ref if at == -1 else name_or_ref[:at])
            if (
                prompt is not None
                and (prompt.rollouts or prompt.label_rules)
                and (at != -1 or label in prompt.rollouts or label in prompt.label_rules)
            ):
                with self.lock:
                    armed = self._under_rollout(name_or_ref, label, unit_key, context)
                if armed is not None:
                    return armed
        if sha is None:
            cache = self._by_label.get(label)
            if cache is not None:
                hit = cache.get(name_or_ref)
                if hit is not None:
                    return hit
        with self.lock:
            return self._resolve(name_or_ref, label, sha)

    def _resolve(self, name_or_ref: str, label: str, sha: Optional[str]) -> ResolvedPrompt:
        if not isinstance(name_or_ref, str):
            raise PromptopsError("invalid", "invalid_name", f"get(): the name must be a string, got {type(name_or_ref).__name__}")
        at = name_or_ref.find("@")
        if at == -1 and sha is None:
            cache = self._by_label.get(label)
            if cache is None:
                cache = self._by_label[label] = {}
            hit = cache.get(name_or_ref)
            if hit is None:
                hit = cache[name_or_ref] = self._lookup(name_or_ref, label, None)
            return hit
        key = f"{name_or_ref}@{sha}" if at == -1 else name_or_ref
        hit = self._by_ref.get(key)
        if hit is not None:
            return hit
        name = name_or_ref if at == -1 else name_or_ref[:at]
        ref = sha if at == -1 else name_or_ref[at + 1 :]
        resolved = self._by_ref[key] = self._lookup(name, label, ref)
        return resolved

    def _for_tenant(self, shared: ResolvedPrompt, tenant: str) -> ResolvedPrompt:
        """The tenant's result built on ``shared``, cached until ``shared`` is replaced."""
        if not isinstance(tenant, str):
            raise PromptopsError(
                "invalid", "invalid_options", f"get(): tenant must be a string, got {type(tenant).__name__}", fix="pass the tenant id"
            )
        key = (id(shared), tenant)
        hit = self._by_tenant.get(key)
        if hit is not None and hit[0] is shared:
            return hit[1]
        with self.lock:
            resolved = self._tenant_prompt(shared, tenant)
            if len(self._by_tenant) >= TENANT_CACHE_MAX:
                self._by_tenant = {}
            self._by_tenant[key] = (shared, resolved)
        return resolved

    def _tenant_prompt(self, shared: ResolvedPrompt, tenant: str) -> ResolvedPrompt:
        """``shared`` with the tenant's override applied (``resolve_tenant``), from the snapshot, or from
        the lockfile when the lockfile served ``shared``; in-code defaults apply none."""
        source = self.snapshot if shared.source == "snapshot" else self._lock_serving(shared.name, shared.sha)
        served = None if source is None else resolve_tenant(source, shared, tenant)
        return ResolvedPrompt(
            shared.name,
            shared.version if served is None else served.version,
            shared.sha if served is None else served.sha,
            shared.label,
            shared.variant,
            shared.source,
            shared.release_sha,
            shared.content if served is None else served.content,
            shared.rollout_id,
            shared.shadow,
            tenant,
            shared.sha if served is None else served.base_sha,
            None if served is None else served.override_sha,
        )

    def _lock_serving(self, name: str, sha: str) -> Optional[Snapshot]:
        """The lockfile's snapshot when its entry for ``name`` is the version ``sha`` (not an in-code default)."""
        lock = self.fallback.lock
        entry = lock.prompts.get(name)
        return lock if entry is not None and sha in entry.versions else None

    def _under_rollout(
        self, name_or_ref: str, label: str, unit_key: Optional[str], context: Optional[Mapping[str, Any]]
    ) -> Optional[ResolvedPrompt]:
        found = resolve_from_snapshot(self.snapshot, name_or_ref, label=label, unit_key=unit_key, context=context)
        if found is None or (found.rollout_id is None and found.label_rule is None):
            return None
        shadow_sha = None if found.shadow is None else found.shadow.sha
        key = (label, name_or_ref, found.variant, found.sha, shadow_sha, found.label)
        hit = self._by_arm.get(key)
        if hit is None:
            hit = self._by_arm[key] = self._served(found, "snapshot")
        return hit

    def _served(self, found: Resolution, source: str) -> ResolvedPrompt:
        release = self.fallback.release_sha
        shadow = None
        if found.shadow is not None:
            s = found.shadow
            shadow = ResolvedPrompt(found.name, s.version, s.sha, found.label, "candidate", source, release, s.content, s.rollout_id)
        return ResolvedPrompt(
            found.name, found.version, found.sha, found.label, found.variant, source, release, found.content, found.rollout_id, shadow
        )

    def _lookup(self, name: str, label: str, ref: Optional[str]) -> ResolvedPrompt:
        name_ref = name if ref is None else f"{name}@{ref}"
        source = "snapshot"
        found = resolve_from_snapshot(self.snapshot, name_ref, label=label)
        if found is None and ref is not None:
            found = resolve_from_snapshot(self._pins, name_ref, label=label)
        if found is None:
            found = resolve_fallback(self.fallback, name, label, ref)
            source = "fallback"
        if found is None:
            raise self._not_found(name, label, ref)
        return self._served(found, source)

    def _not_found(self, name: str, label: str, ref: Optional[str]) -> PromptopsError:
        what = f"'{name}' with label '{label}'" if ref is None else f"'{name}@{ref}'"
        prompt = self.snapshot.prompts.get(name)
        lock = self.fallback.lock.prompts.get(name)
        labels: List[str] = []
        for source in (prompt, lock):
            if source is not None:
                labels.extend(key for key in source.labels.keys() if key not in labels)
        known_set: Dict[str, None] = {}
        sources: Tuple[Mapping[str, Any], ...] = (
            self.snapshot.prompts,
            self.fallback.lock.prompts,
            self.fallback.unlabelled,
            self.fallback.defaults,
        )
        for names in sources:
            for key in names.keys():
                known_set[key] = None
        known = sorted(known_set.keys())
        if labels or prompt is not None or lock is not None:
            available = f"'{name}' has labels: {', '.join(sorted(labels)) or 'none'}"
        elif known:
            more = f", … ({len(known)})" if len(known) > 20 else ""
            available = f"known prompts: {', '.join(known[:20])}{more}"
        else:
            available = "no prompts are loaded"
        details: Dict[str, Any] = {
            "name": name,
            "label": label if ref is None else None,
            "ref": ref,
            "available": labels if labels else known,
        }
        pin_hint = "" if ref is None else f"; a pin the snapshot lacks needs client.prefetch('{name}@{ref}') first"
        outage = self.outage() if self.loaded else None
        if outage is not None:
            miss = f"{fallback_miss(self.fallback, name, label, ref)}; {available}{pin_hint}"
            return not_served_while_offline(outage, what, name, label, ref, miss, details)
        not_ready = "" if self.loaded else " (ready() has not completed yet)"
        fix = (
            f"promote a version to '{label}' (promptops promote {name} vN -l {label}), or ask for a label it has"
            if ref is None
            else f"prefetch it first (client.prefetch('{name}@{ref}')), or use a ref the snapshot holds"
        )
        return PromptopsError(
            "not_found",
            "prompt_not_found",
            f"prompt {what} not found{not_ready}; {available}{pin_hint}",
            details=details,
            fix=fix,
        )
