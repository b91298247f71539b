import { PromptopsError } from '@promptops/core';
import type { Actor } from '../context.js';
import type { RegistryStore } from '../registry/store.js';
import type { LabelRuleReads } from '../labels/rules-store.js';
import type { RolloutReads } from '../rollouts/store.js';
import type { TenantReads } from '../tenants/store.js';
import { createChangeReader, type ChangeEvent, type ChangeReader } from './events.js';
import { ChangeHub } from './hub.js';
import {
  subscriberLimits,
  type SubscriberLimits,
  type SubscriberOwner,
  type TooManySubscribersError,
} from './limits.js';
import { SnapshotCache, type SnapshotCacheOptions } from './snapshot-cache.js';
import { openSubscription, type Subscription, type SubscriptionSink } from './subscription.js';

export interface ChangeFeedOptions extends Partial<SubscriberLimits> {
  /** How often a project's poller reads the audit log (another replica's change is seen within it). */
  readonly pollIntervalMs?: number;
  /** SSE comment interval, so proxies and load balancers keep idle streams open. */
  readonly keepaliveMs?: number;
  /** The Retry-After of a refusal over a subscriber limit (the limits themselves: `SubscriberLimits`). */
  readonly retryAfterSeconds?: number;
  /** Audit entries per read, and so the most events in one delivery or long-poll answer. */
  readonly pageSize?: number;
  /** Live batches a slow stream may have waiting before it is cut off. */
  readonly maxQueuedBatches?: number;
  /** The serialized snapshots kept per project, scope and stamp (`snapshot-cache.ts`). */
  readonly snapshotCache?: SnapshotCacheOptions;
  /** Active rollouts, for the snapshot (events come from their audit entries). */
  readonly rollouts?: Pick<RolloutReads, 'snapshotRollouts'>;
  /** Tenants' current overrides, for the snapshot (events come from their audit entries). */
  readonly overrides?: Pick<TenantReads, 'projectOverrides'>;
  /** Labels' own targeting rules, for the snapshot (events come from their audit entries). */
  readonly labelRules?: Pick<LabelRuleReads, 'projectLabelRules'>;
  readonly log?: { error(details: object, message: string): void };
}

export interface ChangeFeedStats {
  /** Projects being polled by this replica. */
  readonly pollers: number;
  /** Open subscriptions (streams and waiting long-polls). */
  readonly subscribers: number;
  /** Open SSE responses. */
  readonly streams: number;
}

/** Which prompts' events a subscriber gets (`?names=` / `?prefix=`); undefined for all. */
export type NameFilter = (name: string) => boolean;

/** Events after a position for one project, optionally only of some prompts. */
export interface FeedQuery {
  readonly after?: number;
  readonly names?: NameFilter;
}

export type ChangeFeed = ReturnType<typeof createChangeFeed>;

const MAX_WAIT_MS = 30_000;

const cursorAhead = (after: number, latest: number): PromptopsError =>
  new PromptopsError(
    'conflict',
    'cursor_ahead',
    `cursor ${after} is past this project's newest change (${latest}): the server's history is not the one it came from`,
    {
      fix: 'drop local state and start again from GET /api/v1/snapshot',
      details: { after, latest },
    },
  );

const ownerOf = (actor: Actor): SubscriberOwner => ({ projectId: actor.projectId, keyId: actor.keyId });

export const createChangeFeed = (registry: RegistryStore, options: ChangeFeedOptions = {}) => {
  const settings = {
    pollIntervalMs: options.pollIntervalMs ?? 100,
    keepaliveMs: options.keepaliveMs ?? 15_000,
    ...subscriberLimits(options, process.env),
    retryAfterSeconds: options.retryAfterSeconds ?? 5,
    pageSize: options.pageSize ?? 500,
    maxQueuedBatches: options.maxQueuedBatches ?? 100,
  };
  const reader: ChangeReader = createChangeReader(registry);
  const hub = new ChangeHub(reader, {
    pollIntervalMs: settings.pollIntervalMs,
    pageSize: settings.pageSize,
    limits: settings,
    onError: (error, projectId) =>
      options.log?.error({ err: error, projectId }, 'change feed: polling the audit log failed'),
  });
  // A commit through this process wakes its project's poller: local changes go out at once.
  const stopWaking = registry.onAuditCommitted((projectId) => hub.wake(projectId));
  /** Ends each open stream, and answers each waiting long-poll, on shutdown. */
  const streams = new Set<() => void>();
  const polls = new Set<() => void>();

  const snapshots = new SnapshotCache(
    registry,
    options.snapshotCache,
    options.rollouts,
    options.overrides,
    options.labelRules,
  );

  /** The prompts asked for; for a tenant-scoped key also no other tenant's override events. */
  const filterOf = (names: NameFilter | undefined, actor: Actor): { filter?: (event: ChangeEvent) => boolean } => {
    const { tenant } = actor;
    if (tenant === undefined) return names === undefined ? {} : { filter: (event) => names(event.name) };
    return {
      filter: (event) =>
        (event.type !== 'override' || event.tenant === tenant) && (names === undefined || names(event.name)),
    };
  };

  /** The position to start after: the client's, checked against the log, else the newest entry. */
  const startAfter = async (projectId: number, after: number | undefined): Promise<number> => {
    const latest = await reader.latestSeq(projectId);
    if (after !== undefined && after > latest) throw cursorAhead(after, latest);
    return after ?? latest;
  };

  return {
    settings,

    stats: (): ChangeFeedStats => ({ ...hub.stats, streams: streams.size }),

    /** Each polled project's cursor on this replica (`/metrics` compares them with the newest seq). */
    cursors: (): Map<number, number> => hub.cursors(),

    /** Why the actor's key may not subscribe now (which limit), or undefined when it may. */
    refusal: (actor: Actor): TooManySubscribersError | undefined => hub.refusal(ownerOf(actor)),

    startAfter,

    /** Every label of the project with the content it points at, serialized once per scope and stamp. */
    snapshots,

    /**
     * The project's newest seq when a subscriber resuming after `after` would replay more than one page
     * of the audit log (a client that can, `?catchup=snapshot`, is better served by the cached
     * snapshot); undefined when it is near enough to replay.
     */
    async farBehind(projectId: number, after: number): Promise<number | undefined> {
      const latest = await reader.latestSeq(projectId);
      // A project's seqs are dense (each entry is the previous one + 1): the gap is the entry count.
      return latest - after > settings.pageSize ? latest : undefined;
    },

    /**
     * Long-poll: the events after `after` (at most one page) at once if there are any, else the first
     * ones within `waitMs`, else none. `cursor` is where to ask next; it also moves past entries that
     * make no event. Resolves early with no events when `signal` aborts (the client went away).
     */
    async changes(
      actor: Actor,
      query: FeedQuery & { waitMs: number; signal?: AbortSignal },
    ): Promise<{ events: ChangeEvent[]; cursor: number }> {
      const { projectId } = actor;
      let cursor = await startAfter(projectId, query.after);
      const keep = filterOf(query.names, actor).filter ?? (() => true);
      for (;;) {
        const page = await reader.readAfter(projectId, cursor, settings.pageSize);
        cursor = page.cursor;
        const events = page.events.filter(keep);
        if (events.length > 0) return { events, cursor };
        if (!page.more) break;
      }
      const waitMs = Math.min(query.waitMs, MAX_WAIT_MS);
      if (waitMs <= 0 || query.signal?.aborted === true) return { events: [], cursor };
      return new Promise((resolve, reject) => {
        // Every callback below runs asynchronously, after `subscription` and `timer` exist.
        const settle = (): void => {
          clearTimeout(timer);
          query.signal?.removeEventListener('abort', onAbort);
          polls.delete(onAbort);
        };
        const finish = (events: ChangeEvent[], at: number): void => {
          settle();
          subscription.close();
          resolve({ events, cursor: at });
        };
        const onAbort = (): void => finish([], subscription.position);
        const sink: SubscriptionSink = {
          deliver: (events, at) => {
            if (events.length > 0) finish([...events], at);
          },
          fail: (error) => {
            settle();
            reject(error instanceof Error ? error : new Error(String(error)));
          },
        };
        const subscription: Subscription = openSubscription(hub, reader, ownerOf(actor), cursor, sink, {
          pageSize: settings.pageSize,
          maxQueued: settings.maxQueuedBatches,
          ...filterOf(query.names, actor),
        });
        const timer = setTimeout(() => finish([], subscription.position), waitMs);
        query.signal?.addEventListener('abort', onAbort, { once: true });
        polls.add(onAbort); // shutdown answers it as if the wait had ended
      });
    },

    /** A live subscription (the SSE route writes it out); see `openSubscription`. */
    subscribe(actor: Actor, after: number, names: NameFilter | undefined, sink: SubscriptionSink): Subscription {
      return openSubscription(hub, reader, ownerOf(actor), after, sink, {
        pageSize: settings.pageSize,
        maxQueued: settings.maxQueuedBatches,
        ...filterOf(names, actor),
      });
    },

    /** Tracks an open stream so shutdown can end it; returns the untrack. */
    track(end: () => void): () => void {
      streams.add(end);
      return () => {
        streams.delete(end);
      };
    },

    close(): void {
      stopWaking();
      for (const end of [...streams, ...polls]) end();
      hub.close();
    },
  };
};
