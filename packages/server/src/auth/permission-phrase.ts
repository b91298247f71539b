import type { Permission } from './permissions.js';

/** Where "verb noun" would not say it plainly. */
const PHRASES: Partial<Record<Permission, string>> = {
  'audit:read': 'read the audit log',
  'audit:verify': 'verify the audit log',
  'evals:read': 'read eval runs',
  'evals:write': 'write eval runs',
  'suites:write': 'write eval suites',
  'reviews:read': 'read change requests',
  'reviews:open': 'open change requests',
  'reviews:approve': 'approve change requests',
  'reviews:merge': 'merge change requests',
  'labels:force': 'force a protected label (break glass)',
};

/** A permission as the action it allows, for messages: `labels:write` -> "write labels". */
export const permissionPhrase = (permission: Permission): string => {
  const [object, verb] = permission.split(':');
  return PHRASES[permission] ?? (verb === undefined ? permission : `${verb} ${object}`);
};
