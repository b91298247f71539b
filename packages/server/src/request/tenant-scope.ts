import { PromptopsError } from '@promptops/core';
import type { Actor } from '../context.js';

/**
 * Tenant-scoped keys (`Actor.tenant`). The auth hook refuses such a key every route that does not
 * declare `tenantScoped`; a route that does limits what it reads and writes to the key's tenant with
 * these helpers (another tenant is refused alike whether or not it has anything, so nothing is learned).
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route limits a tenant-scoped key to its own tenant's data; others refuse such keys. */
    tenantScoped?: boolean;
  }
}

/** A tenant-scoped key outside its scope: a route it may not call, or another tenant. */
export const tenantScopeRefusal = (tenant: string, what: string): PromptopsError =>
  new PromptopsError('forbidden', 'tenant_scope', `this API key is scoped to tenant '${tenant}': it may not ${what}`, {
    fix: `act on tenant '${tenant}' only, or use a key of the whole project (created without --tenant)`,
    details: { tenant },
  });

/** Refuses a tenant-scoped key acting on another tenant; any tenant for a key of the whole project. */
export const assertOwnTenant = (actor: Actor, tenant: string): void => {
  if (actor.tenant !== undefined && actor.tenant !== tenant) {
    throw tenantScopeRefusal(actor.tenant, `act on tenant '${tenant}'`);
  }
};

/** Whether the actor may see data of `tenant` (null: data of no tenant, which a scoped key may not see). */
export const seesTenant = (actor: Actor, tenant: string | null): boolean =>
  actor.tenant === undefined || actor.tenant === tenant;
