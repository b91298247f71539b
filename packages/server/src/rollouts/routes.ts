import { ROLLOUT_STATES, type RolloutState } from '@promptops/core';
import type { FastifyInstance } from 'fastify';
import { requireActor } from '../request/actor.js';
import { nameParams } from '../request/schemas.js';
import type { RolloutService, StartRolloutInput } from './service.js';

const reason = { type: 'string', maxLength: 2000 } as const;
const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

/** The plan's fields; core's rolloutConfig checks their values and names each bad one (400 invalid_rollout). */
export const rolloutPlanSchema = {
  mode: { type: 'string', enum: ['shadow', 'split'] },
  steps: { type: 'array', minItems: 1, maxItems: 20, items: { type: 'number' } },
  minSamples: { type: 'integer', minimum: 0 },
  stepDuration: {
    anyOf: [
      { type: 'string', minLength: 1, maxLength: 32 },
      { type: 'integer', minimum: 0 },
    ],
  },
  guardrails: { type: 'array', maxItems: 10, items: { type: 'string', minLength: 1, maxLength: 64 } },
  alpha: { type: 'number' },
} as const;

export const rolloutRoutes = (rollouts: RolloutService) => async (app: FastifyInstance) => {
  app.post<{ Params: { name: string }; Body: StartRolloutInput }>(
    '/api/v1/prompts/:name/rollouts',
    {
      config: { permission: 'rollouts:write' },
      schema: {
        tags: ['rollouts'],
        summary:
          'Start a rollout of a candidate version on a label: shadow (the candidate runs on copies, never answers) or split (units assigned by ramp); a split on a protected label needs its policy, like a promote',
        params: nameParams,
        body: {
          type: 'object',
          required: ['label', 'candidate'],
          additionalProperties: false,
          properties: {
            label: { type: 'string', minLength: 1, maxLength: 63 },
            candidate: { type: 'string', minLength: 1, maxLength: 64 },
            salt: { type: 'string', minLength: 1, maxLength: 64 },
            reason,
            ...rolloutPlanSchema,
          },
        },
      },
    },
    async (request, reply) => {
      const started = await rollouts.start(requireActor(request.actor), request.params.name, request.body);
      return reply.code(201).send(started);
    },
  );

  app.get<{ Querystring: { prompt?: string; label?: string; state?: RolloutState; limit?: number } }>(
    '/api/v1/rollouts',
    {
      config: { permission: 'rollouts:read' },
      schema: {
        tags: ['rollouts'],
        summary: "The project's rollouts, newest first",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            prompt: { type: 'string', minLength: 1, maxLength: 200 },
            label: { type: 'string', minLength: 1, maxLength: 63 },
            state: { type: 'string', enum: [...ROLLOUT_STATES] },
            limit: { type: 'integer', minimum: 1, maximum: 500 },
          },
        },
      },
    },
    async (request) => rollouts.list(requireActor(request.actor), request.query),
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/rollouts/:id',
    {
      config: { permission: 'rollouts:read' },
      schema: {
        tags: ['rollouts'],
        summary: 'A rollout with its decision log, per-arm figures and guardrail verdicts',
        params: idParams,
      },
    },
    async (request) => rollouts.show(requireActor(request.actor), request.params.id),
  );

  const actions = {
    pause: 'Pause a running rollout (it holds its ramp: units keep their arm); never waits for review',
    resume: 'Resume a paused rollout; its step starts over',
    advance: 'Move a running rollout to its next step now (or complete it from its last one)',
    abort: 'Abort a rollout: the candidate stops being served; never waits for review',
  } as const;
  for (const [action, summary] of Object.entries(actions) as [keyof typeof actions, string][]) {
    app.post<{ Params: { id: string }; Body: { reason?: string } | undefined }>(
      `/api/v1/rollouts/:id/${action}`,
      {
        config: { permission: 'rollouts:write' },
        // A bare POST (no body) is the same as {}: pausing or aborting must never trip on the request's shape.
        preValidation: async (request) => {
          request.body ??= {};
        },
        schema: {
          tags: ['rollouts'],
          summary,
          params: idParams,
          body: { type: 'object', additionalProperties: false, properties: { reason } },
        },
      },
      async (request) => rollouts[action](requireActor(request.actor), request.params.id, request.body?.reason),
    );
  }

  app.put<{ Params: { id: string }; Body: { rules: unknown[] | null; reason?: string } }>(
    '/api/v1/rollouts/:id/rules',
    {
      config: { permission: 'rollouts:write' },
      schema: {
        tags: ['rollouts'],
        summary:
          "Set a rollout's targeting rules (tried in order before the ramp; the first match serves a label, an arm or a percentage of its segment); null or [] clears them",
        params: idParams,
        body: {
          type: 'object',
          required: ['rules'],
          additionalProperties: false,
          // Each rule's fields are checked by core's targetingRules, which names every bad one (400 invalid_targeting_rules).
          properties: { rules: { type: ['array', 'null'], maxItems: 50 }, reason },
        },
      },
    },
    async (request) =>
      rollouts.setRules(requireActor(request.actor), request.params.id, request.body.rules, request.body.reason),
  );

  app.post<{ Params: { id: string }; Body: { reason?: string } | undefined }>(
    '/api/v1/rollouts/:id/kill',
    {
      config: { permission: 'rollouts:write' },
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        tags: ['rollouts'],
        summary:
          'The kill switch: everyone is served the baseline at once, rules and ramp aside (the rollout is paused; resume turns it off); never waits for review',
        params: idParams,
        body: { type: 'object', additionalProperties: false, properties: { reason } },
      },
    },
    async (request) => rollouts.kill(requireActor(request.actor), request.params.id, request.body?.reason),
  );
};
