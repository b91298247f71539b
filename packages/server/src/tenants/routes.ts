import type { FastifyInstance } from 'fastify';
import { requireActor } from '../request/actor.js';
import { nameParams } from '../request/schemas.js';
import type { TenantViews } from './effective.js';
import type { SetOverrideInput, TenantService } from './service.js';

const tenantParams = {
  type: 'object',
  required: ['name', 'tenant'],
  properties: {
    ...nameParams.properties,
    tenant: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$', description: 'tenant id' },
  },
} as const;

type Params = { name: string; tenant: string };
const label = { type: 'string', minLength: 1, maxLength: 63 } as const;
const message = { type: 'string', maxLength: 2000 } as const;

export const tenantRoutes = (tenants: TenantService, views: TenantViews) => async (app: FastifyInstance) => {
  app.get<{ Params: { name: string }; Querystring: { label?: string } }>(
    '/api/v1/prompts/:name/tenants/effective',
    {
      config: { permission: 'overrides:read' },
      schema: {
        tags: ['tenants'],
        summary:
          'Every tenant with an override and what it is served on its label (or on `label`): effective, base and override shas; `applies: false` when the override no longer fits its base',
        params: nameParams,
        querystring: { type: 'object', additionalProperties: false, properties: { label } },
      },
    },
    async (request) => views.list(requireActor(request.actor), request.params.name, request.query.label),
  );

  app.get<{ Params: Params; Querystring: { label?: string } }>(
    '/api/v1/prompts/:name/tenants/:tenant/effective',
    {
      config: { permission: 'overrides:read' },
      schema: {
        tags: ['tenants'],
        summary: "A tenant's current override, what it is served, and the diff of that against the base",
        params: tenantParams,
        querystring: { type: 'object', additionalProperties: false, properties: { label } },
      },
    },
    async (request) =>
      views.show(requireActor(request.actor), request.params.name, request.params.tenant, request.query.label),
  );

  app.get<{ Params: { name: string } }>(
    '/api/v1/prompts/:name/tenants',
    {
      config: { permission: 'overrides:read', tenantScoped: true },
      schema: {
        tags: ['tenants'],
        summary: 'Every tenant with an override of the prompt, and its current override',
        params: nameParams,
      },
    },
    async (request) => tenants.list(requireActor(request.actor), request.params.name),
  );

  app.put<{ Params: Params; Body: SetOverrideInput }>(
    '/api/v1/prompts/:name/tenants/:tenant/override',
    {
      config: { permission: 'overrides:write', tenantScoped: true },
      schema: {
        tags: ['tenants'],
        summary:
          "Set a tenant's override: a new version (the same content again changes nothing). It serves the tenant's resolutions of `label` (default production), on the label's version or on a pinned `base`; 403 label_protected for a non-admin on a protected label",
        params: tenantParams,
        body: {
          type: 'object',
          required: ['override', 'message'],
          additionalProperties: false,
          properties: {
            override: { type: 'object' },
            message,
            label,
            base: { type: 'string', minLength: 1, maxLength: 64 },
          },
        },
      },
    },
    async (request, reply) => {
      const result = await tenants.set(
        requireActor(request.actor),
        request.params.name,
        request.params.tenant,
        request.body,
      );
      return reply.code(result.created ? 201 : 200).send(result);
    },
  );

  app.get<{ Params: Params; Querystring: { label?: string } }>(
    '/api/v1/prompts/:name/tenants/:tenant/override',
    {
      config: { permission: 'overrides:read', tenantScoped: true },
      schema: {
        tags: ['tenants'],
        summary: "A tenant's current override and the effective prompt it gives (on its label, or on `label`)",
        params: tenantParams,
        querystring: { type: 'object', additionalProperties: false, properties: { label } },
      },
    },
    async (request) =>
      tenants.get(requireActor(request.actor), request.params.name, request.params.tenant, request.query.label),
  );

  app.get<{ Params: Params }>(
    '/api/v1/prompts/:name/tenants/:tenant/override/history',
    {
      config: { permission: 'overrides:read', tenantScoped: true },
      schema: {
        tags: ['tenants'],
        summary: "Every version of a tenant's override, newest first",
        params: tenantParams,
      },
    },
    async (request) => tenants.history(requireActor(request.actor), request.params.name, request.params.tenant),
  );

  app.post<{ Params: Params; Body: { version: number; message?: string } }>(
    '/api/v1/prompts/:name/tenants/:tenant/override/rollback',
    {
      config: { permission: 'overrides:write', tenantScoped: true },
      schema: {
        tags: ['tenants'],
        summary: "Roll a tenant's override back to an earlier version (appended as a new version)",
        params: tenantParams,
        body: {
          type: 'object',
          required: ['version'],
          additionalProperties: false,
          properties: { version: { type: 'integer', minimum: 1 }, message },
        },
      },
    },
    async (request, reply) => {
      const result = await tenants.rollback(
        requireActor(request.actor),
        request.params.name,
        request.params.tenant,
        request.body,
      );
      return reply.code(result.created ? 201 : 200).send(result);
    },
  );
};
