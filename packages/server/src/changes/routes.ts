import { PROMPT_NAME_PATTERN, PromptopsError } from '@promptops/core';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { requireActor } from '../http/actor.js';
import { TooManySubscribersError } from './hub.js';
import type { ChangeFeed } from './service.js';
import { streamChanges } from './sse.js';

const MAX_NAMES = 1000;

const after = { type: 'integer', minimum: 0, description: 'resume after this audit seq (an event id)' } as const;
const names = { type: 'string', maxLength: 200_000, description: 'comma-separated prompt names: only these' } as const;

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

const nameSet = (value: string | undefined): ReadonlySet<string> | undefined => {
  const list = parseNames(value);
  return list === undefined ? undefined : new Set(list);
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

const tooManySubscribers = (reply: FastifyReply, feed: ChangeFeed): FastifyReply =>
  reply
    .code(503)
    .header('retry-after', String(feed.settings.retryAfterSeconds))
    .send({
      error: {
        code: 'too_many_subscribers',
        message: `this replica serves its limit of ${feed.settings.maxSubscribers} change-feed subscribers`,
        fix: `retry after ${feed.settings.retryAfterSeconds} s (another replica may have room)`,
      },
    });

export const changeRoutes = (feed: ChangeFeed) => async (app: FastifyInstance) => {
  // Open streams would hold the HTTP server's close open forever: end them first.
  app.addHook('preClose', async () => feed.close());

  app.get<{ Querystring: { names?: string } }>(
    '/api/v1/snapshot',
    {
      config: { permission: 'prompts:read' },
      schema: {
        tags: ['changes'],
        summary: "Every label of the project with its version's content, and the change-feed cursor they include",
        querystring: { type: 'object', additionalProperties: false, properties: { names } },
      },
    },
    async (request) => feed.snapshot(requireActor(request.actor), parseNames(request.query.names)),
  );

  app.get<{ Querystring: { after?: number; names?: string } }>(
    '/api/v1/stream',
    {
      config: { permission: 'prompts:read' },
      exposeHeadRoute: false, // a HEAD would hold a subscription open with nothing to show for it
      schema: {
        tags: ['changes'],
        summary: 'Server-Sent Events: every label move after the cursor (Last-Event-ID or ?after), then live',
        querystring: { type: 'object', additionalProperties: false, properties: { after, names } },
      },
    },
    async (request, reply) => {
      const actor = requireActor(request.actor);
      const only = nameSet(request.query.names);
      const start = await feed.startAfter(
        actor.projectId,
        lastEventId(request.headers['last-event-id']) ?? request.query.after,
      );
      if (!feed.hasRoom()) return tooManySubscribers(reply, feed);
      streamChanges(feed, reply, actor, start, only);
      return reply;
    },
  );

  app.get<{ Querystring: { after?: number; wait: number; names?: string } }>(
    '/api/v1/changes',
    {
      config: { permission: 'prompts:read' },
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
          },
        },
      },
    },
    async (request, reply) => {
      const actor = requireActor(request.actor);
      const { after: position, wait } = request.query;
      const only = nameSet(request.query.names);
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
        if (error instanceof TooManySubscribersError) return tooManySubscribers(reply, feed);
        throw error;
      }
    },
  );
};
