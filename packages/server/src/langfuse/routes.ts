import type { FastifyInstance } from 'fastify';
import { requireActor } from '../request/actor.js';
import { nameParams } from '../request/schemas.js';
import type { LangfuseCreateInput, LangfuseListQuery, LangfuseService } from './service.js';

/** Langfuse's error class names by status: its clients read the status, people read `message`. */
const ERROR_NAMES: Readonly<Record<number, string>> = {
  400: 'InvalidRequestError',
  401: 'UnauthorizedError',
  403: 'ForbiddenError',
  404: 'LangfuseNotFoundError',
  405: 'MethodNotAllowedError',
  409: 'LangfuseConflictError',
  422: 'InvalidRequestError',
  429: 'TooManyRequestsError',
};

/** A promptops error body (`{ error: { code, message, fix } }`) in Langfuse's shape, `{ message, error }`, keeping code and fix. */
const asLangfuseError = (status: number, payload: string): string => {
  try {
    const body = JSON.parse(payload) as { error?: { code?: string; message?: string; fix?: string; issues?: unknown } };
    if (typeof body.error?.message !== 'string') return payload;
    const { message, ...rest } = body.error;
    return JSON.stringify({ message, error: ERROR_NAMES[status] ?? 'InternalServerError', ...rest });
  } catch {
    return payload;
  }
};

const PROMPT_TYPE = { type: 'string', enum: ['text', 'chat'] } as const;

const createBody = {
  type: 'object',
  required: ['name', 'prompt'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    type: PROMPT_TYPE,
    prompt: {
      // The array first: ajv's type coercion would turn a one-message array into its message for `string`.
      anyOf: [{ type: 'array', items: { type: 'object' }, maxItems: 500 }, { type: 'string' }],
      description: 'text, or chat messages { role, content }',
    },
    config: { description: 'model config: model, provider and parameters' },
    labels: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 63 }, maxItems: 50 },
    tags: { type: 'array', items: { type: 'string', maxLength: 200 }, maxItems: 50 },
    commitMessage: { anyOf: [{ type: 'string', maxLength: 1900 }, { type: 'null' }] },
  },
} as const;

/** Langfuse's prompt API (`/api/public/v2/prompts`): what `@langfuse/client` calls. docs/api.md, "Langfuse". */
export const langfuseRoutes = (langfuse: LangfuseService) => async (app: FastifyInstance) => {
  app.addHook('onSend', async (_request, reply, payload) =>
    reply.statusCode >= 400 && typeof payload === 'string' ? asLangfuseError(reply.statusCode, payload) : payload,
  );

  app.get<{ Params: { name: string }; Querystring: { label?: string; version?: number; resolve?: boolean } }>(
    '/api/public/v2/prompts/:name',
    {
      config: { permission: 'prompts:read' },
      schema: {
        tags: ['langfuse'],
        summary: 'Langfuse: a prompt version by label (default production) or version',
        params: nameParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            label: { type: 'string', minLength: 1, maxLength: 63 },
            version: { type: 'integer', minimum: 1 },
            resolve: { type: 'boolean', description: 'accepted and ignored: promptops prompts hold no references' },
          },
        },
      },
    },
    async (request) => {
      const { label, version } = request.query;
      return langfuse.get(requireActor(request.actor), request.params.name, {
        ...(label === undefined ? {} : { label }),
        ...(version === undefined ? {} : { version }),
      });
    },
  );

  app.get<{ Querystring: LangfuseListQuery }>(
    '/api/public/v2/prompts',
    {
      config: { permission: 'prompts:read' },
      schema: {
        tags: ['langfuse'],
        summary: 'Langfuse: prompt names with their versions, labels and tags, a page at a time',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            name: { type: 'string' },
            label: { type: 'string' },
            tag: { type: 'string' },
            page: { type: 'integer', minimum: 1, default: 1 },
            limit: { type: 'integer', minimum: 1, maximum: 100, default: 50 },
            fromUpdatedAt: { type: 'string', format: 'date-time' },
            toUpdatedAt: { type: 'string', format: 'date-time' },
          },
        },
      },
    },
    async (request) => langfuse.list(requireActor(request.actor), request.query),
  );

  app.post<{ Body: LangfuseCreateInput }>(
    '/api/public/v2/prompts',
    {
      config: { permission: 'prompts:write' },
      schema: {
        tags: ['langfuse'],
        summary: 'Langfuse: create a version (labels need a deployer key)',
        body: createBody,
      },
    },
    async (request, reply) => reply.code(201).send(await langfuse.create(requireActor(request.actor), request.body)),
  );
};
