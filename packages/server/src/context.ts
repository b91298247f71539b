import type { Role } from './storage/port.js';

/** Who is calling: resolved from the API key by the auth plugin, passed to every service call. */
export interface Actor {
  readonly projectId: number;
  readonly projectName: string;
  readonly role: Role;
  readonly keyId: string;
  /** The name recorded as author / actor in history and the audit log. */
  readonly name: string;
}

/** Injected so tests and the demo can control time. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
