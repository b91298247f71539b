import type { Role } from './access/store.js';

/** Who is calling: resolved from the API key by the auth plugin, passed to every service call. */
export interface Actor {
  readonly projectId: number;
  readonly projectName: string;
  readonly role: Role;
  readonly keyId: string;
  /**
   * The name recorded as author / actor / approver in history and the audit log, and compared to decide
   * who may approve, update or close: the user's name when the key acts as a user, else `key:NAME`
   * (core's `actorNameOf`; the namespaces never meet, so no key is ever taken for a user).
   */
  readonly name: string;
  /** The user the key acts as, or null for a key of its own (a service key). */
  readonly user: string | null;
  /** The key's own name (differs from `name` when the key acts as a user). */
  readonly keyName?: string;
  /**
   * The tenant a tenant-scoped key is limited to; absent for a key of the whole project. The auth hook
   * lets such a key reach only routes declaring `tenantScoped`, which limit themselves to this tenant.
   */
  readonly tenant?: string;
  /**
   * The project's change stamp (newest audit seq) when the request was authenticated. Caches of
   * mutable state (labels) are valid for a request only when they were filled at this stamp.
   */
  readonly stamp: number;
}

/** Injected so tests and the demo can control time. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
