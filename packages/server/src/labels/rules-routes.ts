import type { FastifyInstance } from 'fastify';
import { requireActor } from '../request/actor.js';
import { nameLabelParams } from '../request/schemas.js';
import type { LabelRuleService } from './rules.js';

/** A label's own targeting rules: read (viewer), set and cleared (deployer). */
export const labelRuleRoutes = (rules: LabelRuleService) => async (app: FastifyInstance) => {
  app.get<{ Params: { name: string; label: string } }>(
    '/api/v1/prompts/:name/labels/:label/rules',
    {
      config: { permission: 'prompts:read' },
      schema: {
        tags: ['labels'],
        summary: "A label's own targeting rules (empty when it has none)",
        params: nameLabelParams,
      },
    },
    async (request) => rules.get(requireActor(request.actor), request.params.name, request.params.label),
  );

  app.put<{ Params: { name: string; label: string }; Body: { rules: unknown } }>(
    '/api/v1/prompts/:name/labels/:label/rules',
    {
      config: { permission: 'labels:write' },
      schema: {
        tags: ['labels'],
        summary:
          "Set a label's targeting rules: a matching context is served a version ({ version: N }) or another label ({ label }) instead (403 label_protected on a protected label for a label, or a version that did not reach it through review; [] clears)",
        params: nameLabelParams,
        body: {
          type: 'object',
          required: ['rules'],
          additionalProperties: false,
          properties: { rules: { type: 'array', maxItems: 50 } },
        },
      },
    },
    async (request) =>
      rules.set(requireActor(request.actor), request.params.name, request.params.label, request.body.rules),
  );

  app.delete<{ Params: { name: string; label: string } }>(
    '/api/v1/prompts/:name/labels/:label/rules',
    {
      config: { permission: 'labels:write' },
      schema: {
        tags: ['labels'],
        summary: "Clear a label's targeting rules (never waits for review)",
        params: nameLabelParams,
      },
    },
    async (request) => rules.clear(requireActor(request.actor), request.params.name, request.params.label),
  );
};
