import type { Role } from '../storage/port.js';
import { ROLES } from '../storage/port.js';

/**
 * Every route declares one permission (or `public`); this table says which role grants it. Roles are
 * ordered: a role has every permission of the roles below it. Authorization happens in one place, the
 * auth hook, and `app.ts` refuses to register an `/api` route that declares none.
 */
export const PERMISSIONS = {
  'prompts:read': 'viewer',
  'prompts:write': 'editor',
  'labels:write': 'deployer',
  'audit:read': 'viewer',
  'audit:verify': 'admin',
  // Traces: SDKs in production send with an editor key (a dedicated ingest-only role may come with key management).
  'traces:read': 'viewer',
  'traces:write': 'editor',
  // Access: keys and members are managed by admins; anyone may see who the members are. Projects: the
  // role is admin, and the access service also requires the key's project to be the bootstrap `default`
  // project (its admins are the server's admins).
  'keys:read': 'admin',
  'keys:write': 'admin',
  'members:read': 'viewer',
  'members:write': 'admin',
  'projects:read': 'admin',
  'projects:create': 'admin',
} as const satisfies Record<string, Role>;

export type Permission = keyof typeof PERMISSIONS | 'public';

export const roleRank = (role: Role): number => ROLES.indexOf(role);

export const roleAllows = (role: Role, permission: Permission): boolean =>
  permission === 'public' || roleRank(role) >= roleRank(PERMISSIONS[permission]);

declare module 'fastify' {
  interface FastifyContextConfig {
    permission?: Permission;
  }
}
