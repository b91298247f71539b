import type { ChangeEvent, ChangeReader } from './events.js';
import type { ChangeBatch, ChangeHub } from './hub.js';
import type { SubscriberOwner } from './limits.js';

/**
 * One client's view of a project's changes: first every event after its position, read from the audit
 * log (the replay), then the hub's live batches. Everything runs through one queue, in order, and each
 * event is delivered once: an event is passed on only if its seq is past the position, and a live batch
 * that starts past the position (it raced the replay) first reads the gap from the log.
 */

export interface SubscriptionSink {
  /**
   * The events after the previous position up to `cursor` (possibly none, when only entries that move
   * no label were passed). The next delivery waits for a returned promise (backpressure).
   */
  deliver(events: readonly ChangeEvent[], cursor: number): void | Promise<void>;
  /** The subscription broke (storage failure, too slow a consumer) and is closed. */
  fail(error: unknown): void;
}

export interface SubscriptionOptions {
  readonly pageSize: number;
  /** Live batches a slow consumer may have waiting before it is cut off (it can resume from its id). */
  readonly maxQueued: number;
  /** Only events that pass reach the sink (e.g. some prompt names); the position advances regardless. */
  readonly filter?: (event: ChangeEvent) => boolean;
}

export interface Subscription {
  /** The last audit seq delivered or passed over. */
  readonly position: number;
  close(): void;
}

export class SlowConsumerError extends Error {
  constructor(queued: number) {
    super(`the client fell ${queued} batches behind; it may reconnect and resume from its last event id`);
    this.name = 'SlowConsumerError';
  }
}

/** Throws `TooManySubscribersError` synchronously over a subscriber limit; later failures go to `sink.fail`. */
export const openSubscription = (
  hub: ChangeHub,
  reader: ChangeReader,
  owner: SubscriberOwner,
  after: number,
  sink: SubscriptionSink,
  options: SubscriptionOptions,
): Subscription => {
  const { projectId } = owner;
  let position = after;
  let closed = false;
  let queued = 0;
  let queue = Promise.resolve();

  const emit = async (events: readonly ChangeEvent[], to: number): Promise<void> => {
    if (to <= position) return;
    const from = position;
    position = to;
    const fresh = events.filter((event) => event.seq > from && (options.filter?.(event) ?? true));
    await sink.deliver(fresh, to);
  };

  const replay = async (): Promise<void> => {
    for (;;) {
      const page = await reader.readAfter(projectId, position, options.pageSize);
      if (closed) return;
      await emit(page.events, page.cursor);
      if (!page.more || closed) return;
    }
  };

  const fail = (error: unknown): void => {
    if (closed) return;
    close();
    sink.fail(error);
  };

  const enqueue = (work: () => Promise<void>): void => {
    queue = queue.then(() => (closed ? undefined : work())).catch(fail);
  };

  const onBatch = (batch: ChangeBatch): void => {
    if (closed) return;
    queued += 1;
    if (queued > options.maxQueued) return fail(new SlowConsumerError(queued));
    enqueue(async () => {
      queued -= 1;
      if (batch.from > position) await replay();
      if (!closed) await emit(batch.events, batch.to);
    });
  };

  const registration = hub.subscribe(owner, onBatch);
  const close = (): void => {
    closed = true;
    registration.unsubscribe();
  };
  // Replay only once registered: every entry after it reaches us live, so none can fall between.
  registration.ready.then(() => enqueue(replay), fail);

  return {
    get position() {
      return position;
    },
    close,
  };
};
