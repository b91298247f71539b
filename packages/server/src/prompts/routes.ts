import type { FastifyInstance } from 'fastify';
import { requireActor } from '../request/actor.js';
import { nameParams, nameRefParams, sha } from '../request/schemas.js';
import type { PromptService } from './service.js';

const JSON_TYPE = 'application/json; charset=utf-8';

interface NameParams {
  name: string;
}

export const promptRoutes = (prompts: PromptService) => async (app: FastifyInstance) => {
  app.get(
    '/api/v1/prompts',
    {
      config: { permission: 'prompts:read', tenantScoped: true },
      schema: { tags: ['prompts'], summary: 'List prompts with their head and labels' },
    },
    async (request) => ({
      prompts: await prompts.list(requireActor(request.actor)),
    }),
  );

  app.get<{ Params: NameParams }>(
    '/api/v1/prompts/:name',
    {
      config: { permission: 'prompts:read', tenantScoped: true },
      schema: { tags: ['prompts'], summary: 'A prompt: head and labels', params: nameParams },
    },
    async (request) => prompts.get(requireActor(request.actor), request.params.name),
  );

  app.post<{ Params: NameParams; Body: { content: unknown; parent: string | null; message?: string } }>(
    '/api/v1/prompts/:name/versions',
    {
      config: { permission: 'prompts:write' },
      schema: {
        tags: ['prompts'],
        summary: 'Push a version (idempotent on content; 409 when parent is not the head)',
        params: nameParams,
        body: {
          type: 'object',
          required: ['content', 'parent'],
          additionalProperties: false,
          properties: {
            content: {
              type: 'object',
              description: 'prompt content: { name, type, template | messages, config, variables, slots }',
            },
            parent: {
              anyOf: [sha, { type: 'null' }],
              description: 'sha of the head this version builds on; null for the first version',
            },
            message: { type: 'string', maxLength: 2000 },
          },
        },
      },
    },
    async (request, reply) => {
      const { content, parent, message } = request.body;
      const result = await prompts.push(requireActor(request.actor), request.params.name, {
        content,
        parent,
        ...(message === undefined ? {} : { message }),
      });
      return reply.code(result.created ? 201 : 200).send(result);
    },
  );

  app.get<{ Params: NameParams; Querystring: { limit: number; before?: number } }>(
    '/api/v1/prompts/:name/versions',
    {
      config: { permission: 'prompts:read', tenantScoped: true },
      schema: {
        tags: ['prompts'],
        summary: 'Log of a prompt, newest first',
        params: nameParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            before: { type: 'integer', minimum: 1 },
          },
        },
      },
    },
    async (request) => {
      const { limit, before } = request.query;
      return prompts.log(
        requireActor(request.actor),
        request.params.name,
        before === undefined ? { limit } : { limit, before },
      );
    },
  );

  app.get<{ Params: NameParams & { ref: string } }>(
    '/api/v1/prompts/:name/versions/:ref',
    {
      config: { permission: 'prompts:read', tenantScoped: true },
      schema: { tags: ['prompts'], summary: 'One version by ref (v17, sha prefix, label)', params: nameRefParams },
    },
    (request, reply) => {
      const json = prompts.showJson(requireActor(request.actor), request.params.name, request.params.ref);
      if (typeof json === 'string') {
        void reply.type(JSON_TYPE).send(json);
        return;
      }
      return json.then((text) => reply.type(JSON_TYPE).send(text));
    },
  );

  app.get<{ Params: NameParams; Querystring: { from: string; to: string } }>(
    '/api/v1/prompts/:name/diff',
    {
      config: { permission: 'prompts:read', tenantScoped: true },
      schema: {
        tags: ['prompts'],
        summary: 'Diff two refs',
        params: nameParams,
        querystring: {
          type: 'object',
          required: ['from', 'to'],
          additionalProperties: false,
          properties: { from: { type: 'string', minLength: 1 }, to: { type: 'string', minLength: 1 } },
        },
      },
    },
    async (request) =>
      prompts.diff(requireActor(request.actor), request.params.name, request.query.from, request.query.to),
  );
};
