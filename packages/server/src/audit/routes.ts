import type { FastifyInstance } from 'fastify';
import { requireActor } from '../http/actor.js';
import type { Storage } from '../storage/port.js';
import type { AuditService } from './service.js';
import { verifyProject } from './verify.js';

export const auditRoutes = (audit: AuditService, storage: Storage) => async (app: FastifyInstance) => {
  app.get<{ Querystring: { after?: number; limit: number } }>(
    '/api/v1/audit',
    {
      config: { permission: 'audit:read' },
      schema: {
        tags: ['audit'],
        summary: 'The hash-chained audit log, oldest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { after: { type: 'integer', minimum: 0 }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
        },
      },
    },
    async (request) => {
      const { after, limit } = request.query;
      return audit.list(requireActor(request.actor), after === undefined ? { limit } : { after, limit });
    },
  );

  app.get(
    '/api/v1/verify',
    { config: { permission: 'audit:verify' }, schema: { tags: ['audit'], summary: 'Recompute every sha and re-walk the audit chain' } },
    async (request) => verifyProject(storage, requireActor(request.actor).projectId),
  );
};
