import type { Role } from './storage/port.js';

/** Who is calling: resolved from the API key by the auth plugin, passed to every service call. */
export interface Actor {
  readonly projectId: number;
  readonly projectName: string;
  readonly role: Role;
  readonly keyId: string;
  /** The name recorded as author / actor in history and the audit log. */
  readonly name: string;
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
