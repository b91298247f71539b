import { TENANT_PATTERN } from '@promptops/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireActor } from '../request/actor.js';
import { ROLES, type Role } from './store.js';
import { MAX_GRACE_SECONDS, type AccessService } from './service.js';

/**
 * Keys, members and projects. The actor's project always comes from the key: no route takes a project
 * from the URL or the body, and bodies are strict (an unknown field such as `project` or `createdBy` is
 * a 400 naming it), so nothing can be assigned that the operation does not name.
 */

export const KEY_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9 _.@-]{0,63}$';
export const USER_NAME_PATTERN = '^[a-z0-9][a-z0-9_.-]{0,63}$';
export const PROJECT_NAME_PATTERN = '^[a-z0-9][a-z0-9_-]{0,62}$';

const role = { type: 'string', enum: [...ROLES] } as const;
const userName = {
  type: 'string',
  pattern: USER_NAME_PATTERN,
  description: 'user name: lowercase letters, digits, "_", "." and "-", at most 64 characters',
} as const;
const displayName = { type: 'string', minLength: 1, maxLength: 200 } as const;
const keyIdParams = {
  type: 'object',
  required: ['keyId'],
  properties: { keyId: { type: 'string', minLength: 1, maxLength: 64, description: 'the key id (16 hex)' } },
} as const;
const memberParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

/** Lets a body-less POST through strict body validation as `{}`. */
const emptyBody = async (request: FastifyRequest): Promise<void> => {
  request.body ??= {};
};

export const accessRoutes = (access: AccessService) => async (app: FastifyInstance) => {
  // ---- keys ----
  app.get(
    '/api/v1/keys',
    {
      config: { permission: 'keys:read' },
      schema: { tags: ['keys'], summary: "The project's API keys (never their secrets)" },
    },
    async (request) => ({ keys: await access.listKeys(requireActor(request.actor)) }),
  );

  app.get<{ Params: { keyId: string } }>(
    '/api/v1/keys/:keyId',
    { config: { permission: 'keys:read' }, schema: { tags: ['keys'], summary: 'One API key', params: keyIdParams } },
    async (request) => access.getKey(requireActor(request.actor), request.params.keyId),
  );

  app.post<{ Body: { name: string; role: Role; user?: string; tenant?: string } }>(
    '/api/v1/keys',
    {
      config: { permission: 'keys:write' },
      schema: {
        tags: ['keys'],
        summary: 'Create an API key; the response holds its secret, shown this once',
        body: {
          type: 'object',
          required: ['name', 'role'],
          additionalProperties: false,
          properties: {
            name: {
              type: 'string',
              pattern: KEY_NAME_PATTERN,
              description: 'what the key is for, e.g. "ci" or "checkout-service"',
            },
            role,
            user: { ...userName, description: 'a member the key acts as (its role may not exceed theirs)' },
            tenant: {
              type: 'string',
              pattern: TENANT_PATTERN.source,
              description:
                'limits the key to this tenant: its overrides, the snapshot and change feed with only its overrides, its traces (role viewer or editor)',
            },
          },
        },
      },
    },
    async (request, reply) => reply.code(201).send(await access.createKey(requireActor(request.actor), request.body)),
  );

  app.post<{ Params: { keyId: string }; Body: { graceSeconds?: number } }>(
    '/api/v1/keys/:keyId/rotate',
    {
      config: { permission: 'keys:write' },
      preValidation: emptyBody,
      schema: {
        tags: ['keys'],
        summary: 'A new secret for the same name, role and user; the old key stops now or after graceSeconds',
        params: keyIdParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { graceSeconds: { type: 'integer', minimum: 0, maximum: MAX_GRACE_SECONDS } },
        },
      },
    },
    async (request) =>
      access.rotateKey(requireActor(request.actor), request.params.keyId, {
        ...(request.body.graceSeconds === undefined ? {} : { graceSeconds: request.body.graceSeconds }),
      }),
  );

  app.post<{ Params: { keyId: string } }>(
    '/api/v1/keys/:keyId/revoke',
    {
      config: { permission: 'keys:write' },
      preValidation: emptyBody,
      schema: {
        tags: ['keys'],
        summary: 'Revoke a key: it stops working at once on every replica',
        params: keyIdParams,
        body: { type: 'object', additionalProperties: false, properties: {} },
      },
    },
    async (request) => access.revokeKey(requireActor(request.actor), request.params.keyId),
  );

  // ---- members ----
  app.get(
    '/api/v1/members',
    {
      config: { permission: 'members:read' },
      schema: { tags: ['members'], summary: "The project's members and their roles" },
    },
    async (request) => ({ members: await access.listMembers(requireActor(request.actor)) }),
  );

  app.get<{ Params: { name: string } }>(
    '/api/v1/members/:name',
    {
      config: { permission: 'members:read' },
      schema: { tags: ['members'], summary: 'One member', params: memberParams },
    },
    async (request) => access.getMember(requireActor(request.actor), request.params.name),
  );

  app.post<{ Body: { name: string; role: Role; displayName?: string } }>(
    '/api/v1/members',
    {
      config: { permission: 'members:write' },
      schema: {
        tags: ['members'],
        summary: 'Add a user to the project with a role (the user is created on the server when new)',
        body: {
          type: 'object',
          required: ['name', 'role'],
          additionalProperties: false,
          properties: { name: userName, role, displayName },
        },
      },
    },
    async (request, reply) => reply.code(201).send(await access.addMember(requireActor(request.actor), request.body)),
  );

  app.patch<{ Params: { name: string }; Body: { role?: Role; displayName?: string | null } }>(
    '/api/v1/members/:name',
    {
      config: { permission: 'members:write' },
      schema: {
        tags: ['members'],
        summary: "Change a member's role or display name; a lower role caps the member's keys at once",
        params: memberParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: { role, displayName: { anyOf: [displayName, { type: 'null' }] } },
        },
      },
    },
    async (request) => access.updateMember(requireActor(request.actor), request.params.name, request.body),
  );

  app.delete<{ Params: { name: string } }>(
    '/api/v1/members/:name',
    {
      config: { permission: 'members:write' },
      schema: {
        tags: ['members'],
        summary: 'Remove a member; the keys acting as them stop working',
        params: memberParams,
      },
    },
    async (request) => ({ removed: await access.removeMember(requireActor(request.actor), request.params.name) }),
  );

  // ---- projects (server admins: admin keys of the bootstrap `default` project) ----
  app.get(
    '/api/v1/projects',
    { config: { permission: 'projects:read' }, schema: { tags: ['projects'], summary: 'Every project on the server' } },
    async (request) => ({ projects: await access.listProjects(requireActor(request.actor)) }),
  );

  app.post<{ Body: { name: string } }>(
    '/api/v1/projects',
    {
      config: { permission: 'projects:create' },
      schema: {
        tags: ['projects'],
        summary: 'Create a project; the response holds its first admin key, shown this once',
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: { name: { type: 'string', pattern: PROJECT_NAME_PATTERN } },
        },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await access.createProject(requireActor(request.actor), request.body)),
  );
};
