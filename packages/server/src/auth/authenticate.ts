import { PromptopsError } from '@promptops/core';
import type { Actor, Clock } from '../context.js';
import { LruCache } from '../lru-cache.js';
import type { ProjectRow, Storage } from '../storage/port.js';
import { hashApiKey, hashesEqual, keyIdOf } from './keys.js';

const TOUCH_INTERVAL_MS = 60_000;

const unauthorized = (message: string): PromptopsError =>
  new PromptopsError('unauthorized', 'unauthorized', message, {
    fix: 'send an API key as "Authorization: Bearer <key>" (the CLI reads PROMPTOPS_API_KEY or .promptops/credentials.json)',
  });

/**
 * Resolves a bearer token to an actor. The key row is read on every request, so a revoked key stops
 * working at once on every replica; only the `last used` stamp is throttled.
 */
export const createAuthenticator = (storage: Storage, clock: Clock) => {
  const touched = new Map<string, number>();
  // Projects are never renamed or deleted, so their rows can be cached; keys are read every time.
  const projects = new LruCache<number, ProjectRow>(1000);
  return async (authorization: string | undefined): Promise<Actor> => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) throw unauthorized('this route needs an API key');
    const hash = hashApiKey(match[1]!);
    const keyId = keyIdOf(hash);
    const row = await storage.findApiKey(keyId);
    if (!row || !hashesEqual(row.hash, hash) || row.revokedAt !== null) throw unauthorized('the API key is not valid');
    const project = projects.get(row.projectId) ?? (await storage.getProject(row.projectId));
    if (project) projects.set(project.id, project);
    if (!project) throw unauthorized('the API key is not valid');
    const now = clock.now().getTime();
    if ((touched.get(keyId) ?? 0) + TOUCH_INTERVAL_MS < now) {
      touched.set(keyId, now);
      void storage.touchApiKey(keyId, new Date(now).toISOString()).catch(() => undefined);
    }
    return { projectId: project.id, projectName: project.name, role: row.role, keyId, name: row.name };
  };
};
