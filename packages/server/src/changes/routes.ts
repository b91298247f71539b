import { MAX_PROMPT_NAME_LENGTH, PROMPT_NAME_PATTERN, PromptopsError } from '@promptops/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../context.js';
import { negotiateEncoding } from '../request/accept-encoding.js';
import { requireActor } from '../request/actor.js';
import { sendError } from '../request/errors.js';
import { SUBSCRIBER_LIMIT_ENV, TooManySubscribersError, type SubscriberLimits } from './limits.js';
import type { ChangeFeed, NameFilter } from './service.js';
import { etagOf, MIN_COMPRESSED_BYTES, noneMatch, type SnapshotEntry, type SnapshotScope } from './snapshot-cache.js';
import { sendResync, streamChanges } from './sse.js';

const MAX_NAMES = 1000;

const after = { type: 'integer', minimum: 0, description: 'resume after this audit seq (an event id)' } as const;
const names = { type: 'string', maxLength: 200_000, description: 'comma-separated prompt names: only these' } as const;
const prefix = {
  type: 'string',
  maxLength: MAX_PROMPT_NAME_LENGTH,
  description: 'only prompts whose name starts with it (e.g. checkout/); with names, the prompts either selects',
} as const;
const catchup = {
  type: 'string',
  enum: ['replay', 'snapshot'],
  default: 'replay',
  description: 'snapshot: a client more than a page of changes behind gets one `resync` event instead of the replay',
} as const;

/** `?names=a,b` to a set; undefined when absent (all prompts). */
const parseNames = (value: string | undefined): string[] | undefined => {
  if (value === undefined) return undefined;
  const list = [
    ...new Set(
      value
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name !== ''),
    ),
  ];
  const bad = list.find((name) => !PROMPT_NAME_PATTERN.test(name));
  if (bad !== undefined || list.length > MAX_NAMES) {
    throw new PromptopsError(
      'invalid',
      'invalid_request',
      bad === undefined ? `names lists more than ${MAX_NAMES} prompts` : `names: "${bad}" is not a prompt name`,
      {
        issues: [
          {
            path: 'querystring.names',
            message: bad === undefined ? `at most ${MAX_NAMES} names` : `"${bad}" is not a prompt name`,
          },
        ],
        fix: `list at most ${MAX_NAMES} prompt names, separated by commas`,
      },
    );
  }
  return list;
};

/** A prefix some prompt name could start with: a name, or one with a trailing `/`, or part of a segment. */
const parsePrefix = (value: string | undefined): string | undefined => {
  if (value === undefined || value === '') return undefined;
  if (!PROMPT_NAME_PATTERN.test(value.endsWith('/') ? value.slice(0, -1) : value)) {
    throw new PromptopsError('invalid', 'invalid_request', `prefix: no prompt name starts with "${value}"`, {
      issues: [{ path: 'querystring.prefix', message: `"${value}" is not the start of a prompt name` }],
      fix: 'give the start of prompt names, e.g. prefix=checkout/ (lowercase letters, digits, _ . - and /)',
    });
  }
  return value;
};

const scopeOf = (query: { names?: string; prefix?: string }): SnapshotScope => {
  const list = parseNames(query.names);
  const start = parsePrefix(query.prefix);
  return { ...(list === undefined ? {} : { names: list }), ...(start === undefined ? {} : { prefix: start }) };
};

const filterOf = (scope: SnapshotScope): NameFilter | undefined => {
  const { names, prefix } = scope;
  if (names === undefined && prefix === undefined) return undefined;
  const set = new Set(names);
  return (name) => set.has(name) || (prefix !== undefined && name.startsWith(prefix));
};

/** EventSource sends the last id it saw when it reconnects; it wins over `?after` from the original URL. */
const lastEventId = (header: string | string[] | undefined): number | undefined => {
  const value = [header].flat()[0]?.trim();
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,15}$/.test(value)) {
    throw new PromptopsError('invalid', 'invalid_request', `Last-Event-ID "${value}" is not an event id`, {
      issues: [{ path: 'headers.last-event-id', message: 'must be a non-negative integer (an audit seq)' }],
      fix: 'send the id of the last event received, or leave the header out to start at the current cursor',
    });
  }
  return Number(value);
};

/** Where each limit is raised: the app option and the environment variable of `promptops serve`. */
const raise = (option: keyof SubscriberLimits): string =>
  `an operator raises it with ${SUBSCRIBER_LIMIT_ENV[option]} (changeFeed.${option})`;

/**
 * Over the key's or the project's own limit: 429, the caller's own doing. Over the replica's: 503, as
 * before (another replica may have room). Every refusal names its limit and how to raise it.
 */
const tooManySubscribers = (
  reply: FastifyReply,
  feed: ChangeFeed,
  actor: Actor,
  refused: TooManySubscribersError,
): FastifyReply => {
  const after = `retry after ${feed.settings.retryAfterSeconds} s`;
  const { limit, max } = refused;
  const [message, fix] =
    limit === 'key'
      ? [
          `this API key already holds ${max} change-feed subscriptions (streams and waiting long-polls) on this replica, its limit`,
          `close the clients this key no longer needs or give each service its own key, then ${after}; ${raise('maxSubscribersPerKey')}`,
        ]
      : limit === 'project'
        ? [
            `project '${actor.projectName}' already holds ${max} change-feed subscriptions (streams and waiting long-polls) on this replica, its limit`,
            `close the clients the project no longer needs, or spread them over more replicas, then ${after}; ${raise('maxSubscribersPerProject')}`,
          ]
        : [
            `this replica serves its limit of ${max} change-feed subscribers`,
            `${after} (another replica may have room); ${raise('maxSubscribers')}`,
          ];
  const kind = limit === 'replica' ? 'unavailable' : 'rate_limited';
  const body = { code: 'too_many_subscribers', message, fix, details: { limit, max } };
  return sendError(reply, kind, body, feed.settings.retryAfterSeconds);
};

/**
 * The snapshot in the coding the client accepts (small bodies plain), or 304 when If-None-Match names it
 * in any coding. `private, no-cache`: a shared cache must not keep one key's answer, and a client may
 * keep it only to revalidate.
 */
const sendSnapshot = (
  feed: ChangeFeed,
  request: FastifyRequest,
  reply: FastifyReply,
  entry: SnapshotEntry,
): FastifyReply | Promise<FastifyReply> => {
  const coding =
    entry.body.length < MIN_COMPRESSED_BYTES
      ? 'identity'
      : negotiateEncoding(request.headers['accept-encoding'], ['br', 'gzip']);
  void reply.header('etag', etagOf(entry, coding)).header('vary', 'accept-encoding');
  void reply.header('cache-control', 'private, no-cache');
  if (noneMatch(request.headers['if-none-match'], entry)) return reply.code(304).send();
  void reply.type('application/json; charset=utf-8');
  if (coding === 'identity') return reply.send(entry.body);
  return feed.snapshots.encoded(entry, coding).then((body) => reply.header('content-encoding', coding).send(body));
};

export const changeRoutes = (feed: ChangeFeed) => async (app: FastifyInstance) => {
  // Open streams would hold the HTTP server's close open forever: end them first.
  app.addHook('preClose', async () => feed.close());

  app.get<{ Querystring: { names?: string; prefix?: string } }>(
    '/api/v1/snapshot',
    {
      config: { permission: 'prompts:read', tenantScoped: true },
      schema: {
        tags: ['changes'],
        summary:
          "Every label of the project with its version's content, and the change-feed cursor they include " +
          '(cached per change stamp, gzip or br by Accept-Encoding, ETag / If-None-Match)',
        querystring: { type: 'object', additionalProperties: false, properties: { names, prefix } },
      },
    },
    (request, reply) => {
      const found = feed.snapshots.entry(requireActor(request.actor), scopeOf(request.query));
      // From memory without a promise when held; the first request at a stamp reads and serializes.
      return found instanceof Promise
        ? found.then((entry) => sendSnapshot(feed, request, reply, entry))
        : sendSnapshot(feed, request, reply, found);
    },
  );

  app.get<{ Querystring: { after?: number; names?: string; prefix?: string; catchup: 'replay' | 'snapshot' } }>(
    '/api/v1/stream',
    {
      config: { permission: 'prompts:read', tenantScoped: true },
      exposeHeadRoute: false, // a HEAD would hold a subscription open with nothing to show for it
      schema: {
        tags: ['changes'],
        summary: 'Server-Sent Events: every label move after the cursor (Last-Event-ID or ?after), then live',
        querystring: { type: 'object', additionalProperties: false, properties: { after, names, prefix, catchup } },
      },
    },
    async (request, reply) => {
      const actor = requireActor(request.actor);
      const scope = scopeOf(request.query);
      const only = filterOf(scope);
      const start = await feed.startAfter(
        actor.projectId,
        lastEventId(request.headers['last-event-id']) ?? request.query.after,
      );
      const latest = request.query.catchup === 'snapshot' ? await feed.farBehind(actor.projectId, start) : undefined;
      if (latest !== undefined) {
        // Warm the cache: the client's next request is for this snapshot (its failure is that request's).
        void Promise.resolve(feed.snapshots.entry(actor, scope)).catch(() => undefined);
        sendResync(reply, start, latest);
        return reply;
      }
      const refused = feed.refusal(actor);
      if (refused !== undefined) return tooManySubscribers(reply, feed, actor, refused);
      streamChanges(feed, reply, actor, start, only);
      return reply;
    },
  );

  app.get<{ Querystring: { after?: number; wait: number; names?: string; prefix?: string } }>(
    '/api/v1/changes',
    {
      config: { permission: 'prompts:read', tenantScoped: true },
      exposeHeadRoute: false, // a HEAD would hold a subscription open with nothing to show for it
      schema: {
        tags: ['changes'],
        summary: 'Long-poll: the label moves after ?after, at once if any, else the first within ?wait seconds',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after,
            wait: { type: 'number', minimum: 0, default: 0, description: 'seconds, at most 30' },
            names,
            prefix,
          },
        },
      },
    },
    async (request, reply) => {
      const actor = requireActor(request.actor);
      const { after: position, wait } = request.query;
      const only = filterOf(scopeOf(request.query));
      const aborted = new AbortController();
      reply.raw.once('close', () => aborted.abort());
      try {
        return await feed.changes(actor, {
          ...(position === undefined ? {} : { after: position }),
          ...(only === undefined ? {} : { names: only }),
          waitMs: wait * 1000,
          signal: aborted.signal,
        });
      } catch (error) {
        if (error instanceof TooManySubscribersError) return tooManySubscribers(reply, feed, actor, error);
        throw error;
      }
    },
  );
};
