import { DRIFT_API_SOURCES, type DriftRequest } from '@promptops/core';
import type { FastifyInstance } from 'fastify';
import { requireActor } from '../request/actor.js';
import { nameParams } from '../request/schemas.js';
import type { DriftService } from './service.js';

const ref = { type: 'string', minLength: 1, maxLength: 64 } as const;
const when = { type: 'string', minLength: 1, maxLength: 40 } as const;

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[0-9]{1,15}$', description: 'report id' } },
} as const;

export const driftRoutes = (drift: DriftService) => async (app: FastifyInstance) => {
  app.post<{ Body: DriftRequest }>(
    '/api/v1/drift',
    {
      config: { permission: 'drift:write' },
      schema: {
        tags: ['drift'],
        summary:
          'Build and store a drift report: did B change what the outputs do, compared with A? (offline: a suite’s recorded runs of both, paired by case; shadow: a shadow rollout’s pairs of traces; live: traces of each in a window)',
        body: {
          type: 'object',
          required: ['prompt', 'source'],
          additionalProperties: false,
          properties: {
            prompt: { type: 'string', minLength: 1, maxLength: 200 },
            a: { ...ref, description: 'the baseline: vN, a sha or a label (shadow: the rollout’s, may be left out)' },
            b: { ...ref, description: 'the candidate (shadow: the rollout’s, may be left out)' },
            source: { type: 'string', enum: [...DRIFT_API_SOURCES] },
            suite: { type: 'string', minLength: 1, maxLength: 200, description: 'offline: the eval suite' },
            rollout: { type: 'string', minLength: 1, maxLength: 64, description: 'shadow: the rollout id' },
            window: {
              description:
                'live: a duration back from now (24h, 7d) or { since, until? }, default 24h; shadow: when the shadow calls were received, default the whole rollout',
              oneOf: [
                when,
                {
                  type: 'object',
                  required: ['since'],
                  additionalProperties: false,
                  properties: { since: when, until: when },
                },
              ],
            },
            options: {
              type: 'object',
              description: 'alpha, correction (holm, bh, none), minSamples, unpairedNumericTest, examples, jsonSchema',
            },
          },
        },
      },
    },
    async (request, reply) => reply.code(201).send(await drift.create(requireActor(request.actor), request.body)),
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/drift/:id',
    {
      config: { permission: 'drift:read' },
      schema: { tags: ['drift'], summary: 'One stored drift report', params: idParams },
    },
    async (request) => drift.get(requireActor(request.actor), Number(request.params.id)),
  );

  app.get<{ Params: { name: string }; Querystring: { limit: number; before?: string } }>(
    '/api/v1/prompts/:name/drift',
    {
      config: { permission: 'drift:read' },
      schema: {
        tags: ['drift'],
        summary: 'A prompt’s stored drift reports, newest first (without their bodies)',
        params: nameParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
            before: { type: 'string', pattern: '^[0-9]{1,15}$' },
          },
        },
      },
    },
    async (request) => {
      const { limit, before } = request.query;
      return drift.list(
        requireActor(request.actor),
        request.params.name,
        before === undefined ? { limit } : { limit, before: Number(before) },
      );
    },
  );
};
