import type { EffectivePrompt, OverrideRecord, PromptOverride } from '@promptops/core';
import { ApiError, type ApiClient } from './api-client.js';

/** Typed calls of the tenant override routes (docs/api.md, "Tenant overrides"). */

export type { OverrideRecord };

export interface OverrideWithEffective {
  readonly override: OverrideRecord;
  readonly effective: EffectivePrompt & { readonly label: string };
}

export interface OverrideSetResult {
  readonly override: OverrideRecord;
  readonly created: boolean;
}

const seg = (value: string): string => encodeURIComponent(value);
const path = (name: string, tenant: string): string => `/prompts/${seg(name)}/tenants/${seg(tenant)}/override`;

export const overrideApi = (client: ApiClient) => ({
  set: (
    name: string,
    tenant: string,
    body: { override: PromptOverride; message: string; label?: string; base?: string },
  ): Promise<OverrideSetResult> => client.request('PUT', path(name, tenant), body),
  get: (name: string, tenant: string, label?: string): Promise<OverrideWithEffective> =>
    client.request('GET', path(name, tenant), undefined, { label }),
  /** The same, or null when the tenant has no override of the prompt. */
  find: async (name: string, tenant: string, label?: string): Promise<OverrideWithEffective | null> => {
    try {
      return await client.request<OverrideWithEffective>('GET', path(name, tenant), undefined, { label });
    } catch (error) {
      if (error instanceof ApiError && error.code === 'override_not_found') return null;
      throw error;
    }
  },
  history: async (name: string, tenant: string): Promise<readonly OverrideRecord[]> =>
    (await client.request<{ versions: readonly OverrideRecord[] }>('GET', `${path(name, tenant)}/history`)).versions,
  rollback: (name: string, tenant: string, body: { version: number; message?: string }): Promise<OverrideSetResult> =>
    client.request('POST', `${path(name, tenant)}/rollback`, body),
  list: async (name: string): Promise<readonly OverrideRecord[]> =>
    (await client.request<{ tenants: readonly OverrideRecord[] }>('GET', `/prompts/${seg(name)}/tenants`)).tenants,
});
