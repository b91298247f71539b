import type { Role } from '../access/store.js';
import { ROLES } from '../access/store.js';

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
  // Eval suites and runs. Recording a run is `reviewer`: runs are the evidence the eval gate rests on, so
  // results count only when a key trusted to vouch for them uploads them (a client cannot just claim a pass).
  'evals:read': 'viewer',
  'evals:write': 'reviewer',
  'suites:write': 'editor',
  // Drift reports: anyone may read them; building one stores it (and reads every output compared), so it
  // is an editor's, like pushing a suite. The reports decide nothing by themselves (a policy's noDrift does).
  'drift:read': 'viewer',
  'drift:write': 'editor',
  // Review gates: policies, owners and teams are an admin's; anyone may read them and the change requests.
  'policies:read': 'viewer',
  'policies:write': 'admin',
  'reviews:read': 'viewer',
  'reviews:open': 'editor',
  'reviews:approve': 'reviewer',
  // Merging needs only the right to open: the policy's approvals are the gate (an unprotected label's
  // change request also needs `labels:write`, checked by the service).
  'reviews:merge': 'editor',
  // Break glass: a forced promotion to a protected label (checked by the label service, on labels:write routes).
  'labels:force': 'admin',
  // Access: keys and members are managed by admins; anyone may see who the members are. Projects: the
  // role is admin, and the access service also requires the key's project to be the bootstrap `default`
  // project (its admins are the server's admins).
  'keys:read': 'admin',
  'keys:write': 'admin',
  'members:read': 'viewer',
  'members:write': 'admin',
  'projects:read': 'admin',
  'projects:create': 'admin',
  // Rollouts: anyone may watch one; starting, pausing or aborting one is a deployer's, like a promote.
  'rollouts:read': 'viewer',
  'rollouts:write': 'deployer',
  // Tenant overrides: anyone may read them; setting one is an editor's, like a push (on a protected label
  // the service asks for an admin, since an override there changes what production serves).
  'overrides:read': 'viewer',
  'overrides:write': 'editor',
  // Incidents: anyone may read them; opening, acknowledging and resolving one is an editor's (whoever is on
  // call); monitors act on a label (an automatic rollback), so adding or removing one is a deployer's.
  'incidents:read': 'viewer',
  'incidents:write': 'editor',
  'monitors:write': 'deployer',
  // The gateway (POST /v1/chat/completions): production traffic, like trace ingestion, from an app's editor
  // key; it spends the server's upstream key, so viewers (read-only keys) may not call it.
  'gateway:call': 'editor',
  // Prometheus scrapes (GET /metrics): the lowest role, its own project's series only; a scraper's key
  // should be a viewer key made for it. `--metrics-public` opens the route to anyone, every project's series.
  'metrics:read': 'viewer',
  // Webhooks send the project's events to an outside URL and hold signing secrets: an admin's, to read too
  // (the URLs themselves may carry tokens).
  'webhooks:read': 'admin',
  'webhooks:write': 'admin',
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
