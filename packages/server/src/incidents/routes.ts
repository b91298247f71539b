import type { FastifyInstance } from 'fastify';
import { requireActor } from '../request/actor.js';
import { nameParams } from '../request/schemas.js';
import type { IncidentService } from './service.js';

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1 } },
} as const;
const monitorParams = {
  type: 'object',
  required: ['name', 'id'],
  properties: { ...nameParams.properties, id: { type: 'integer', minimum: 1 } },
} as const;
const tags = ['incidents'];

export const incidentRoutes = (service: IncidentService) => async (app: FastifyInstance) => {
  app.post<{ Body: { name: string; label: string; message: string } }>(
    '/api/v1/incidents',
    {
      config: { permission: 'incidents:write' },
      schema: {
        tags,
        summary: 'Open an incident by hand on a prompt label',
        body: {
          type: 'object',
          required: ['name', 'label', 'message'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 200 },
            label: { type: 'string', minLength: 1, maxLength: 63 },
            message: { type: 'string', minLength: 1, maxLength: 2000 },
          },
        },
      },
    },
    async (request, reply) => reply.code(201).send(await service.open(requireActor(request.actor), request.body)),
  );

  app.get<{ Querystring: { state?: 'open' | 'acknowledged' | 'resolved' } }>(
    '/api/v1/incidents',
    {
      config: { permission: 'incidents:read' },
      schema: {
        tags,
        summary: "The project's incidents, newest first",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { state: { type: 'string', enum: ['open', 'acknowledged', 'resolved'] } },
        },
      },
    },
    async (request) => ({ incidents: await service.list(requireActor(request.actor), request.query.state) }),
  );

  app.get<{ Params: { id: number } }>(
    '/api/v1/incidents/:id',
    {
      config: { permission: 'incidents:read' },
      schema: { tags, summary: 'An incident with its timeline and figures', params: idParams },
    },
    async (request) => service.show(requireActor(request.actor), request.params.id),
  );

  app.post<{ Params: { id: number } }>(
    '/api/v1/incidents/:id/ack',
    {
      config: { permission: 'incidents:write' },
      schema: { tags, summary: 'Acknowledge an incident', params: idParams },
    },
    async (request) => ({ incident: await service.acknowledge(requireActor(request.actor), request.params.id) }),
  );

  app.post<{ Params: { id: number }; Body: { message?: string } | undefined }>(
    '/api/v1/incidents/:id/resolve',
    {
      config: { permission: 'incidents:write' },
      schema: {
        tags,
        summary: 'Resolve an incident',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { message: { type: 'string', minLength: 1, maxLength: 2000 } },
        },
      },
    },
    async (request) => ({
      incident: await service.resolve(requireActor(request.actor), request.params.id, request.body?.message),
    }),
  );

  app.get<{ Params: { id: number } }>(
    '/api/v1/incidents/:id/postmortem',
    {
      config: { permission: 'incidents:read' },
      schema: { tags, summary: 'A postmortem draft of the incident, in Markdown', params: idParams },
    },
    async (request, reply) =>
      reply
        .type('text/markdown; charset=utf-8')
        .send(await service.postmortem(requireActor(request.actor), request.params.id)),
  );

  app.get<{ Params: { name: string } }>(
    '/api/v1/prompts/:name/monitors',
    { config: { permission: 'incidents:read' }, schema: { tags, summary: "A prompt's monitors", params: nameParams } },
    async (request) => ({ monitors: await service.listMonitors(requireActor(request.actor), request.params.name) }),
  );

  app.post<{ Params: { name: string }; Body: { label: string; config?: unknown } }>(
    '/api/v1/prompts/:name/monitors',
    {
      config: { permission: 'monitors:write' },
      schema: {
        tags,
        summary: 'Add a monitor on a label (conditions, window, baseline, action notify or rollback)',
        params: nameParams,
        body: {
          type: 'object',
          required: ['label'],
          additionalProperties: false,
          properties: { label: { type: 'string', minLength: 1, maxLength: 63 }, config: { type: 'object' } },
        },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await service.addMonitor(requireActor(request.actor), request.params.name, request.body)),
  );

  app.delete<{ Params: { name: string; id: number } }>(
    '/api/v1/prompts/:name/monitors/:id',
    { config: { permission: 'monitors:write' }, schema: { tags, summary: 'Remove a monitor', params: monitorParams } },
    async (request, reply) => {
      await service.removeMonitor(requireActor(request.actor), request.params.name, request.params.id);
      return reply.code(204).send();
    },
  );
};
