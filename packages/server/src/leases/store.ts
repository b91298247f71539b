/**
 * Leases: a named piece of background work (the rollouts scheduler now, incident monitors later) that
 * must run on one replica at a time. A holder takes the lease until a time and renews it while alive; a
 * lease whose holder stopped renewing expires, and another replica takes it over.
 */

export interface LeaseRow {
  readonly name: string;
  readonly holder: string;
  /** ISO 8601. */
  readonly expiresAt: string;
}

export interface LeaseStore {
  /**
   * Takes `name` for `holder` until `now + ttlMs` when it is free, expired at `now`, or already held by
   * `holder` (a renewal); one conditional statement, so two replicas never both hold it. True when held.
   */
  acquire(name: string, holder: string, now: Date, ttlMs: number): Promise<boolean>;
  /** Gives the lease up (only when `holder` holds it), so another replica need not wait for it to expire. */
  release(name: string, holder: string): Promise<void>;
  get(name: string): Promise<LeaseRow | undefined>;
}
