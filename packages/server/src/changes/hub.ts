import type { ChangeEvent, ChangeReader } from './events.js';
import {
  SubscriberCounts,
  type SubscriberLimits,
  type SubscriberOwner,
  type TooManySubscribersError,
} from './limits.js';

/**
 * One poller per project with at least one subscriber, however many subscribers it has: it reads the
 * project's audit log after its cursor every `pollIntervalMs` and hands each batch to every subscriber.
 * Polling the log (not a database notification channel) works alike on SQLite and PostgreSQL, across
 * processes and restarts. `wake` polls at once when this process committed a change, so changes made
 * through this replica do not wait for the interval.
 */

export interface ChangeBatch {
  /** The audit seqs this batch covers: after `from`, up to and including `to`. */
  readonly from: number;
  readonly to: number;
  /** The events among them, oldest first (entries that move no label make none). */
  readonly events: readonly ChangeEvent[];
}

export type BatchListener = (batch: ChangeBatch) => void;

export interface HubOptions {
  readonly pollIntervalMs: number;
  /** Audit entries read per query. */
  readonly pageSize: number;
  /** Subscribers on this replica: in all, per project, per key, and each project's reserve. */
  readonly limits: SubscriberLimits;
  readonly onError: (error: unknown, projectId: number) => void;
}

export interface HubSubscription {
  /** Settles once the project's poller knows its starting cursor (rejects if it could not read it). */
  readonly ready: Promise<void>;
  unsubscribe(): void;
}

/** Failed polls back off up to this, so a database outage is not hammered 10 times a second per project. */
const MAX_BACKOFF_MS = 5000;

interface Poller {
  readonly projectId: number;
  readonly listeners: Set<BatchListener>;
  ready: Promise<void>;
  /** Undefined until the first read of the project's newest seq. */
  cursor: number | undefined;
  timer: NodeJS.Timeout | undefined;
  polling: boolean;
  /** A wake-up arrived during a poll: poll again as soon as it ends. */
  again: boolean;
  stopped: boolean;
  failures: number;
}

export class ChangeHub {
  readonly #pollers = new Map<number, Poller>();
  readonly #counts: SubscriberCounts;
  #closed = false;

  constructor(
    private readonly reader: ChangeReader,
    private readonly options: HubOptions,
  ) {
    this.#counts = new SubscriberCounts(options.limits);
  }

  /** For tests and metrics. */
  get stats(): { pollers: number; subscribers: number } {
    return { pollers: this.#pollers.size, subscribers: this.#counts.total };
  }

  /** Each polled project's cursor (the last audit seq its poller read), for the feed's lag metric. */
  cursors(): Map<number, number> {
    const cursors = new Map<number, number>();
    for (const poller of this.#pollers.values()) {
      if (poller.cursor !== undefined) cursors.set(poller.projectId, poller.cursor);
    }
    return cursors;
  }

  /** Why `owner` may not subscribe now (which limit), or undefined when it may. */
  refusal(owner: SubscriberOwner): TooManySubscribersError | undefined {
    return this.#counts.refusal(owner);
  }

  /**
   * Registers at once (synchronously), so a capacity check just before cannot be raced. Throws
   * `TooManySubscribersError` over a limit.
   */
  subscribe(owner: SubscriberOwner, listener: BatchListener): HubSubscription {
    if (this.#closed) throw new Error('the change hub is closed');
    const release = this.#counts.acquire(owner);
    const poller = this.#pollers.get(owner.projectId) ?? this.#start(owner.projectId);
    poller.listeners.add(listener);
    let active = true;
    return {
      ready: poller.ready,
      unsubscribe: () => {
        if (!active) return;
        active = false;
        release();
        poller.listeners.delete(listener);
        if (poller.listeners.size === 0) this.#stop(poller);
      },
    };
  }

  /** This process committed a change to the project: poll now instead of at the next tick. */
  wake(projectId: number): void {
    const poller = this.#pollers.get(projectId);
    if (poller === undefined || poller.cursor === undefined) return;
    void this.#poll(poller);
  }

  close(): void {
    this.#closed = true;
    for (const poller of this.#pollers.values()) this.#stop(poller);
  }

  #start(projectId: number): Poller {
    const poller: Poller = {
      projectId,
      listeners: new Set(),
      ready: Promise.resolve(),
      cursor: undefined,
      timer: undefined,
      polling: false,
      again: false,
      stopped: false,
      failures: 0,
    };
    // Subscribers catch up from their own position, so the poller may start at the newest entry.
    poller.ready = this.reader.latestSeq(projectId).then(
      (cursor) => {
        poller.cursor = cursor;
        this.#schedule(poller, this.options.pollIntervalMs);
      },
      (error: unknown) => {
        this.#stop(poller); // the next subscriber starts a fresh poller
        throw error;
      },
    );
    poller.ready.catch(() => undefined); // every subscriber sees the rejection through its own `ready`
    this.#pollers.set(projectId, poller);
    return poller;
  }

  #stop(poller: Poller): void {
    poller.stopped = true;
    clearTimeout(poller.timer);
    poller.timer = undefined;
    if (this.#pollers.get(poller.projectId) === poller) this.#pollers.delete(poller.projectId);
  }

  #schedule(poller: Poller, delayMs: number): void {
    if (poller.stopped) return;
    clearTimeout(poller.timer);
    poller.timer = setTimeout(() => void this.#poll(poller), delayMs);
    poller.timer.unref();
  }

  async #poll(poller: Poller): Promise<void> {
    if (poller.stopped || poller.cursor === undefined) return;
    if (poller.polling) {
      poller.again = true;
      return;
    }
    clearTimeout(poller.timer);
    poller.polling = true;
    poller.again = false;
    let delay = this.options.pollIntervalMs;
    try {
      for (;;) {
        const from: number = poller.cursor;
        const page = await this.reader.readAfter(poller.projectId, from, this.options.pageSize);
        if (poller.stopped) return;
        if (page.cursor > from) {
          poller.cursor = page.cursor;
          const batch: ChangeBatch = { from, to: page.cursor, events: page.events };
          for (const listener of [...poller.listeners]) {
            try {
              listener(batch);
            } catch (error) {
              // One subscriber's failure must not cost the others this batch.
              this.options.onError(error, poller.projectId);
            }
          }
        }
        if (!page.more) break;
      }
      poller.failures = 0;
    } catch (error) {
      poller.failures += 1;
      poller.again = false;
      delay = Math.min(this.options.pollIntervalMs * 2 ** poller.failures, MAX_BACKOFF_MS);
      this.options.onError(error, poller.projectId);
    } finally {
      poller.polling = false;
    }
    if (poller.again) void this.#poll(poller);
    else this.#schedule(poller, delay);
  }
}
