import type { FastifyInstance } from 'fastify';
import { requireActor } from '../http/actor.js';
import type { Storage } from '../storage/port.js';
import type { AuditPage, AuditService } from './service.js';
import { verifyProject } from './verify.js';

export const auditRoutes = (audit: AuditService, storage: Storage) => async (app: FastifyInstance) => {
  app.get<{ Querystring: AuditPage }>(
    '/api/v1/audit',
    {
      config: { permission: 'audit:read' },
      schema: {
        tags: ['audit'],
        summary:
          'The hash-chained audit log, oldest first (or newest first with order=desc), optionally by actor or prompt',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: { type: 'integer', minimum: 0 },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            order: { type: 'string', enum: ['asc', 'desc'], default: 'asc' },
            before: { type: 'integer', minimum: 1, description: 'newest first: entries below this seq' },
            actor: { type: 'string', minLength: 1, maxLength: 200, description: 'only entries by this actor' },
            prompt: { type: 'string', minLength: 1, maxLength: 200, description: "only this prompt's entries" },
          },
        },
      },
    },
    async (request) => audit.list(requireActor(request.actor), request.query),
  );

  app.get(
    '/api/v1/verify',
    {
      config: { permission: 'audit:verify' },
      schema: { tags: ['audit'], summary: 'Recompute every sha and re-walk the audit chain' },
    },
    async (request) => verifyProject(storage, requireActor(request.actor).projectId),
  );
};
