import {
  DEFAULT_LABEL,
  LATEST_LABEL,
  PromptopsError,
  assertLabelName,
  effectivePrompt,
  overrideSha,
  parseOverride,
  type EffectivePrompt,
  type OverrideRecord,
  type PromptContent,
  type PromptOverride,
} from '@promptops/core';
import { roleAllows } from '../auth/permissions.js';
import type { Actor, Clock } from '../context.js';
import { unknownPrompt } from '../prompts/errors.js';
import { resolveRef } from '../prompts/resolve-ref.js';
import { assertOwnTenant, seesTenant } from '../request/tenant-scope.js';
import type { PromptRow, RegistryReads, RegistryStore, RegistryTx } from '../registry/store.js';
import { effectivePolicy } from '../reviews/policies.js';
import type { ReviewTx } from '../reviews/store.js';
import type { Transaction } from '../storage/transaction.js';
import type { OverrideRow, TenantStore, TenantTx } from './store.js';

export interface TenantStores {
  readonly registry: RegistryStore;
  readonly tenants: TenantStore;
  readonly transaction: Transaction<{
    readonly registry: RegistryTx;
    readonly reviews: ReviewTx;
    readonly tenants: TenantTx;
  }>;
}

/** An override version as the API returns it. */
export type { OverrideRecord };

export interface SetOverrideInput {
  readonly override: unknown;
  readonly message: string;
  /** The label whose resolutions it serves (default production; never `latest`). */
  readonly label?: string;
  /** Pins a base version (a ref: vN, a sha or prefix); absent: follows the label. */
  readonly base?: string;
}

const MAX_MESSAGE = 2000;
const MAX_HISTORY = 500;

export const toOverrideRecord = (name: string, row: OverrideRow): OverrideRecord => ({
  name,
  tenant: row.tenant,
  version: row.version,
  sha: row.sha,
  override: JSON.parse(row.content) as PromptOverride,
  label: row.label,
  baseSha: row.baseSha,
  author: row.author,
  message: row.message,
  createdAt: row.createdAt,
});

const noOverride = (name: string, tenant: string): PromptopsError =>
  new PromptopsError('not_found', 'override_not_found', `tenant '${tenant}' has no override of '${name}'`, {
    fix: `set one: PUT /api/v1/prompts/${name}/tenants/${tenant}/override`,
    details: { name, tenant },
  });

/**
 * Tenant overrides: append-only versions per (prompt, tenant), each checked against the base it applies
 * to. The label's policy applies: on a protected label only an admin may change an override (recorded as
 * such), since a change there changes what production serves to that tenant without a change request.
 */
export const createTenantService = (stores: TenantStores, clock: Clock) => {
  const { registry, tenants, transaction } = stores;

  const promptOf = async (reads: RegistryReads, actor: Actor, name: string): Promise<PromptRow> => {
    const prompt = await reads.getPrompt(actor.projectId, name);
    if (!prompt || prompt.headSha === null) throw await unknownPrompt(reads, actor.projectId, name);
    return prompt;
  };

  /** The base content an override version applies to: its pinned version, or what its label serves. */
  const baseOf = async (
    reads: RegistryReads,
    prompt: PromptRow,
    label: string,
    base: string | null,
  ): Promise<{ sha: string; content: PromptContent }> => {
    const version = await resolveRef(reads, prompt, base ?? label);
    return { sha: version.sha, content: JSON.parse(version.content) as PromptContent };
  };

  /**
   * Who may change an override on a protected label: an admin, or a tenant-scoped key (its own tenant,
   * checked before) when the policy allows tenant self-service; a tenant-scoped key never by its role
   * alone. What the audit entry records of it, or null when the label is not protected.
   */
  const checkPolicy = async (
    reads: ReviewTx,
    actor: Actor,
    name: string,
    label: string,
  ): Promise<{ protectedLabel: true; tenantSelfService?: true } | null> => {
    const policy = await effectivePolicy(reads, actor.projectId, label, name);
    if (policy?.protected !== true) return null;
    if (actor.tenant !== undefined) {
      if (policy.tenantSelfService) return { protectedLabel: true, tenantSelfService: true };
    } else if (roleAllows(actor.role, 'labels:force')) {
      return { protectedLabel: true };
    }
    throw new PromptopsError(
      'forbidden',
      'label_protected',
      `'${label}' of '${name}' is protected: its tenant overrides change only by an admin${actor.tenant === undefined ? '' : ", or by the tenant's own key where the policy allows tenant self-service"} (an override changes what '${label}' serves to that tenant)`,
      {
        fix:
          actor.tenant === undefined
            ? 'ask an admin to set it, or set the override on an unprotected label (--label staging) first'
            : `ask an admin to set it, or to allow self-service: promptops policy set ${label} --tenant-self-service`,
        details: { name, label, policy },
      },
    );
  };

  /** Appends a version (and its audit entry) unless it equals the current one. */
  const append = async (
    actor: Actor,
    name: string,
    tenant: string,
    input: { override: PromptOverride; label: string; base: string | null; message: string },
    action: 'override.set' | 'override.rolled_back',
    extra: Record<string, unknown> = {},
  ): Promise<{ override: OverrideRecord; created: boolean }> =>
    transaction(async (tx) => {
      const prompt = await tx.registry.lockPrompt(actor.projectId, name, clock.now().toISOString());
      if (prompt.headSha === null) throw await unknownPrompt(tx.registry, actor.projectId, name);
      const policy = await checkPolicy(tx.reviews, actor, name, input.label);
      const base = await baseOf(tx.registry, prompt, input.label, input.base);
      effectivePrompt(base.content, input.override);
      const sha = overrideSha(input.override);
      const baseSha = input.base === null ? null : base.sha;
      const current = await tx.tenants.currentOverride(prompt.id, tenant);
      if (current && current.sha === sha && current.label === input.label && current.baseSha === baseSha) {
        return { override: toOverrideRecord(name, current), created: false };
      }
      const at = clock.now().toISOString();
      const row = await tx.tenants.insertOverride({
        projectId: actor.projectId,
        promptId: prompt.id,
        tenant,
        version: (current?.version ?? 0) + 1,
        sha,
        content: JSON.stringify(input.override),
        label: input.label,
        baseSha,
        author: actor.name,
        message: input.message,
        createdAt: at,
      });
      await tx.registry.appendAudit({
        projectId: actor.projectId,
        at,
        actor: actor.name,
        action,
        target: `${name}:${input.label}:tenant:${tenant}`,
        data: {
          name,
          tenant,
          label: input.label,
          version: row.version,
          sha,
          baseSha,
          override: input.override,
          message: input.message,
          ...policy,
          ...(actor.tenant === undefined ? {} : { keyTenant: actor.tenant }),
          ...extra,
        },
      });
      return { override: toOverrideRecord(name, row), created: true };
    });

  return {
    async set(actor: Actor, name: string, tenant: string, input: SetOverrideInput) {
      assertOwnTenant(actor, tenant);
      const label = input.label ?? DEFAULT_LABEL;
      assertLabelName(label);
      if (label === LATEST_LABEL) {
        throw new PromptopsError(
          'unprocessable',
          'label_reserved',
          `an override cannot follow '${LATEST_LABEL}': every push would move it`,
          { fix: 'follow production or staging (--label), or pin a base version (--base vN)' },
        );
      }
      const override = parseOverride(input.override, 'override');
      const message = input.message.slice(0, MAX_MESSAGE);
      return append(actor, name, tenant, { override, label, base: input.base ?? null, message }, 'override.set');
    },

    /** The current override and the effective prompt it gives on its label (or on `label` when named). */
    async get(
      actor: Actor,
      name: string,
      tenant: string,
      label?: string,
    ): Promise<{ override: OverrideRecord; effective: EffectivePrompt & { label: string } }> {
      assertOwnTenant(actor, tenant);
      const prompt = await promptOf(registry, actor, name);
      const row = await tenants.currentOverride(prompt.id, tenant);
      if (!row) throw noOverride(name, tenant);
      const on = label ?? row.label;
      const base = await baseOf(registry, prompt, on, row.baseSha);
      const override = toOverrideRecord(name, row);
      return { override, effective: { ...effectivePrompt(base.content, override.override), label: on } };
    },

    async history(actor: Actor, name: string, tenant: string): Promise<{ versions: OverrideRecord[] }> {
      assertOwnTenant(actor, tenant);
      const prompt = await promptOf(registry, actor, name);
      const rows = await tenants.overrideHistory(prompt.id, tenant, MAX_HISTORY);
      if (rows.length === 0) throw noOverride(name, tenant);
      return { versions: rows.map((row) => toOverrideRecord(name, row)) };
    },

    async list(actor: Actor, name: string): Promise<{ tenants: OverrideRecord[] }> {
      const prompt = await promptOf(registry, actor, name);
      const rows = (await tenants.currentOverrides(prompt.id)).filter((row) => seesTenant(actor, row.tenant));
      return { tenants: rows.map((row) => toOverrideRecord(name, row)) };
    },

    /** Appends a copy of an earlier version (the history stays append-only). */
    async rollback(actor: Actor, name: string, tenant: string, input: { version: number; message?: string }) {
      assertOwnTenant(actor, tenant);
      const prompt = await promptOf(registry, actor, name);
      const target = await tenants.getOverrideVersion(prompt.id, tenant, input.version);
      if (!target) {
        throw new PromptopsError(
          'not_found',
          'override_not_found',
          `tenant '${tenant}' has no override version ${input.version} of '${name}'`,
          {
            fix: `see the versions: GET /api/v1/prompts/${name}/tenants/${tenant}/override/history`,
            details: { name, tenant },
          },
        );
      }
      const message = (input.message ?? `roll back to override version ${input.version}`).slice(0, MAX_MESSAGE);
      const override = JSON.parse(target.content) as PromptOverride;
      return append(
        actor,
        name,
        tenant,
        { override, label: target.label, base: target.baseSha, message },
        'override.rolled_back',
        { fromVersion: input.version },
      );
    },
  };
};

export type TenantService = ReturnType<typeof createTenantService>;
