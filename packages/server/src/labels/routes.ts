import type { FastifyInstance } from 'fastify';
import { requireActor } from '../request/actor.js';
import { nameLabelParams, nameParams } from '../request/schemas.js';
import type { LabelService } from './service.js';

const reason = { type: 'string', maxLength: 2000 } as const;

export const labelRoutes = (labels: LabelService) => async (app: FastifyInstance) => {
  app.get<{ Params: { name: string } }>(
    '/api/v1/prompts/:name/labels',
    {
      config: { permission: 'prompts:read', tenantScoped: true },
      schema: { tags: ['labels'], summary: 'Current labels of a prompt', params: nameParams },
    },
    async (request) => ({ labels: await labels.list(requireActor(request.actor), request.params.name) }),
  );

  app.get<{ Params: { name: string }; Querystring: { label?: string } }>(
    '/api/v1/prompts/:name/deployments',
    {
      config: { permission: 'prompts:read' },
      schema: {
        tags: ['labels'],
        summary:
          'Deployment history (every label move), newest first, and where each label may be rolled back to (on a protected label: only versions that reached it through its policy)',
        params: nameParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { label: { type: 'string', minLength: 1, maxLength: 63 } },
        },
      },
    },
    async (request) => labels.history(requireActor(request.actor), request.params.name, request.query.label),
  );

  app.put<{ Params: { name: string; label: string }; Body: { ref: string; reason?: string; force?: boolean } }>(
    '/api/v1/prompts/:name/labels/:label',
    {
      config: { permission: 'labels:write' },
      schema: {
        tags: ['labels'],
        summary:
          'Promote: move a label to a ref (403 label_protected on a protected label; an admin may force it with a reason: break glass)',
        params: nameLabelParams,
        body: {
          type: 'object',
          required: ['ref'],
          additionalProperties: false,
          properties: { ref: { type: 'string', minLength: 1, maxLength: 64 }, reason, force: { type: 'boolean' } },
        },
      },
    },
    async (request) => {
      const { ref, reason: why, force } = request.body;
      return labels.promote(requireActor(request.actor), request.params.name, request.params.label, {
        ref,
        ...(why === undefined ? {} : { reason: why }),
        ...(force === undefined ? {} : { force }),
      });
    },
  );

  app.post<{ Params: { name: string; label: string }; Body: { to?: string; reason?: string } | undefined }>(
    '/api/v1/prompts/:name/labels/:label/rollback',
    {
      config: { permission: 'labels:write' },
      schema: {
        tags: ['labels'],
        summary:
          'Roll a label back to the version it served before, or to one it served at some point (403 label_protected when a protected label got that version only by break glass)',
        params: nameLabelParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { to: { type: 'string', minLength: 1, maxLength: 64 }, reason },
        },
      },
    },
    async (request) => {
      const body = request.body ?? {};
      return labels.rollback(requireActor(request.actor), request.params.name, request.params.label, {
        ...(body.to === undefined ? {} : { to: body.to }),
        ...(body.reason === undefined ? {} : { reason: body.reason }),
      });
    },
  );
};
