import type { FastifyInstance } from 'fastify';
import { requireActor } from '../request/actor.js';
import type { WebhookService } from './service.js';
import type { WebhookFormat } from './store.js';

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1 } },
} as const;
const deliveryParams = {
  type: 'object',
  required: ['id', 'deliveryId'],
  properties: { id: { type: 'integer', minimum: 1 }, deliveryId: { type: 'integer', minimum: 1 } },
} as const;
const tags = ['webhooks'];

export const webhookRoutes = (service: WebhookService) => async (app: FastifyInstance) => {
  app.post<{ Body: { url: string; events: string[]; format?: WebhookFormat } }>(
    '/api/v1/webhooks',
    {
      config: { permission: 'webhooks:write' },
      schema: {
        tags,
        summary: 'Subscribe a URL to events; the answer holds its signing secret, shown this once',
        body: {
          type: 'object',
          required: ['url', 'events'],
          additionalProperties: false,
          properties: {
            url: { type: 'string', minLength: 1, maxLength: 2000 },
            events: {
              type: 'array',
              minItems: 1,
              maxItems: 50,
              items: { type: 'string', minLength: 1, maxLength: 64 },
            },
            format: { type: 'string', enum: ['json', 'slack'] },
          },
        },
      },
    },
    async (request, reply) => reply.code(201).send(await service.create(requireActor(request.actor), request.body)),
  );

  app.get(
    '/api/v1/webhooks',
    {
      config: { permission: 'webhooks:read' },
      schema: { tags, summary: "The project's webhooks (never their secrets)" },
    },
    async (request) => ({ webhooks: await service.list(requireActor(request.actor)) }),
  );

  app.delete<{ Params: { id: number } }>(
    '/api/v1/webhooks/:id',
    {
      config: { permission: 'webhooks:write' },
      schema: { tags, summary: 'Remove a webhook and its deliveries', params: idParams },
    },
    async (request, reply) => {
      await service.remove(requireActor(request.actor), request.params.id);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { id: number }; Querystring: { limit?: number } }>(
    '/api/v1/webhooks/:id/deliveries',
    {
      config: { permission: 'webhooks:read' },
      schema: {
        tags,
        summary: "A webhook's deliveries, newest first: status, attempts, response code, duration, error",
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'integer', minimum: 1, maximum: 500 } },
        },
      },
    },
    async (request) => ({
      deliveries: await service.deliveries(requireActor(request.actor), request.params.id, request.query.limit),
    }),
  );

  app.post<{ Params: { id: number; deliveryId: number } }>(
    '/api/v1/webhooks/:id/deliveries/:deliveryId/redeliver',
    {
      config: { permission: 'webhooks:write' },
      schema: { tags, summary: 'Send a delivery again (queued for the next dispatch)', params: deliveryParams },
    },
    async (request, reply) =>
      reply.code(202).send({
        delivery: await service.redeliver(requireActor(request.actor), request.params.id, request.params.deliveryId),
      }),
  );
};
