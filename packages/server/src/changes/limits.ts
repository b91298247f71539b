/**
 * How many change-feed subscribers (streams and waiting long-polls) one replica admits, and to whom.
 * The replica's limit alone let one key fill it for every project; so each key and each project has its
 * own limit well below it, and each project keeps a reserve: while it holds fewer than `reservedPerProject`
 * subscribers it is admitted even when the replica is full (its key and project limits still apply), so
 * the replica may exceed `maxSubscribers` by at most the reserve of each such project.
 */

/** Each one, when not given, is its `PROMPTOPS_CHANGE_FEED_*` environment variable, else the default. */
export interface SubscriberLimits {
  /** All projects together on this replica (default 10,000); beyond it 503. */
  readonly maxSubscribers: number;
  /** One project's subscribers on this replica (default 2,500); beyond it 429. */
  readonly maxSubscribersPerProject: number;
  /** One API key's subscribers on this replica (default 1,000); beyond it 429. */
  readonly maxSubscribersPerKey: number;
  /** A project below this many subscribers is admitted even when the replica is full (default 100). */
  readonly reservedPerProject: number;
}

export const DEFAULT_SUBSCRIBER_LIMITS: SubscriberLimits = {
  maxSubscribers: 10_000,
  maxSubscribersPerProject: 2_500,
  maxSubscribersPerKey: 1_000,
  reservedPerProject: 100,
};

/** The environment variable that sets each limit for `promptops serve`. */
export const SUBSCRIBER_LIMIT_ENV: Readonly<Record<keyof SubscriberLimits, string>> = {
  maxSubscribers: 'PROMPTOPS_CHANGE_FEED_MAX_SUBSCRIBERS',
  maxSubscribersPerProject: 'PROMPTOPS_CHANGE_FEED_MAX_PER_PROJECT',
  maxSubscribersPerKey: 'PROMPTOPS_CHANGE_FEED_MAX_PER_KEY',
  reservedPerProject: 'PROMPTOPS_CHANGE_FEED_RESERVED_PER_PROJECT',
};

const LIMIT_NAMES = Object.keys(SUBSCRIBER_LIMIT_ENV) as (keyof SubscriberLimits)[];

const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/**
 * The limits: each given one, else its environment variable, else the default. Throws naming the option
 * or the variable when one is not a non-negative integer.
 */
export const subscriberLimits = (
  given: Partial<Record<keyof SubscriberLimits, unknown>>,
  env: NodeJS.ProcessEnv = {},
): SubscriberLimits => {
  const limits = { ...DEFAULT_SUBSCRIBER_LIMITS, ...subscriberLimitsFromEnv(env) };
  for (const name of LIMIT_NAMES) {
    const value = given[name];
    if (value === undefined) continue;
    if (!isCount(value)) {
      throw new Error(
        `changeFeed.${name} must be a non-negative integer, got ${JSON.stringify(value)} ` +
          `(default ${DEFAULT_SUBSCRIBER_LIMITS[name]}; ${SUBSCRIBER_LIMIT_ENV[name]} for promptops serve)`,
      );
    }
    limits[name] = value;
  }
  return limits;
};

/** The limits set in the environment (unset ones are left out); throws naming the variable when one is malformed. */
export const subscriberLimitsFromEnv = (env: NodeJS.ProcessEnv): Partial<SubscriberLimits> => {
  const limits: Partial<Record<keyof SubscriberLimits, number>> = {};
  for (const name of LIMIT_NAMES) {
    const text = env[SUBSCRIBER_LIMIT_ENV[name]]?.trim();
    if (text === undefined || text === '') continue;
    if (!/^\d{1,15}$/.test(text)) {
      throw new Error(
        `${SUBSCRIBER_LIMIT_ENV[name]}=${JSON.stringify(text)} is not a non-negative integer ` +
          `(the change feed's ${name}; default ${DEFAULT_SUBSCRIBER_LIMITS[name]})`,
      );
    }
    limits[name] = Number(text);
  }
  return limits;
};

/** Who holds a subscription: the limits count per project and per API key. */
export interface SubscriberOwner {
  readonly projectId: number;
  readonly keyId: string;
}

export type SubscriberLimitName = 'key' | 'project' | 'replica';

export class TooManySubscribersError extends Error {
  constructor(
    readonly limit: SubscriberLimitName,
    readonly max: number,
  ) {
    super(`the change feed's ${limit} limit of ${max} subscribers is reached`);
    this.name = 'TooManySubscribersError';
  }
}

/** The subscriber counts of one replica, by project and by key. */
export class SubscriberCounts {
  #total = 0;
  readonly #projects = new Map<number, number>();
  readonly #keys = new Map<string, number>();

  constructor(private readonly limits: SubscriberLimits) {}

  get total(): number {
    return this.#total;
  }

  /** Why `owner` may not subscribe now, or undefined when it may. */
  refusal(owner: SubscriberOwner): TooManySubscribersError | undefined {
    const { limits } = this;
    if ((this.#keys.get(keyOf(owner)) ?? 0) >= limits.maxSubscribersPerKey) {
      return new TooManySubscribersError('key', limits.maxSubscribersPerKey);
    }
    const project = this.#projects.get(owner.projectId) ?? 0;
    if (project >= limits.maxSubscribersPerProject) {
      return new TooManySubscribersError('project', limits.maxSubscribersPerProject);
    }
    if (this.#total >= limits.maxSubscribers && project >= limits.reservedPerProject) {
      return new TooManySubscribersError('replica', limits.maxSubscribers);
    }
    return undefined;
  }

  /** Counts a subscriber in (throws the refusal when over a limit); returns its release, which is idempotent. */
  acquire(owner: SubscriberOwner): () => void {
    const refused = this.refusal(owner);
    if (refused !== undefined) throw refused;
    const key = keyOf(owner);
    this.#total += 1;
    this.#projects.set(owner.projectId, (this.#projects.get(owner.projectId) ?? 0) + 1);
    this.#keys.set(key, (this.#keys.get(key) ?? 0) + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#total -= 1;
      decrement(this.#projects, owner.projectId);
      decrement(this.#keys, key);
    };
  }
}

const keyOf = (owner: SubscriberOwner): string => `${owner.projectId}:${owner.keyId}`;

/** Entries at zero are removed, so the maps hold only current subscribers. */
const decrement = <K>(counts: Map<K, number>, key: K): void => {
  const left = (counts.get(key) ?? 1) - 1;
  if (left <= 0) counts.delete(key);
  else counts.set(key, left);
};
