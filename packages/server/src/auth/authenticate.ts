import { PromptopsError } from '@promptops/core';
import type { Actor, Clock } from '../context.js';
import { BoundedCache } from '../bounded-cache.js';
import type { ProjectRow, Storage } from '../storage/port.js';
import { hashApiKey, hashesEqual, keyIdOf } from './keys.js';

const TOUCH_INTERVAL_MS = 60_000;
const KEY_CACHE_SIZE = 10_000;

const unauthorized = (message: string): PromptopsError =>
  new PromptopsError('unauthorized', 'unauthorized', message, {
    fix: 'send an API key as "Authorization: Bearer <key>" (the CLI reads PROMPTOPS_API_KEY or .promptops/credentials.json)',
  });

/**
 * Resolves a bearer token to an actor, and reads the project's change stamp (its newest audit seq).
 *
 * Every change to keys, labels and versions appends to the project's audit log in the same transaction,
 * so the stamp moves whenever anything a cache holds may have changed. A verified key is cached with
 * the stamp it was read at and reused only while the stamp is unchanged: one cheap indexed read per
 * request, and a revoked key stops working with the next request on every replica.
 */
export const createAuthenticator = (storage: Storage, clock: Clock) => {
  const touched = new Map<string, number>();
  // Projects are never renamed or deleted, so their rows can be cached for good.
  const projects = new BoundedCache<number, ProjectRow>(1000);
  // Only keys that verified are cached: random tokens cannot grow it.
  const keys = new BoundedCache<string, { actor: Omit<Actor, 'stamp'>; stamp: number }>(KEY_CACHE_SIZE);

  const load = async (hash: string): Promise<Omit<Actor, 'stamp'>> => {
    const keyId = keyIdOf(hash);
    const row = await storage.findApiKey(keyId);
    if (!row || !hashesEqual(row.hash, hash) || row.revokedAt !== null) throw unauthorized('the API key is not valid');
    const project = projects.get(row.projectId) ?? (await storage.getProject(row.projectId));
    if (!project) throw unauthorized('the API key is not valid');
    projects.set(project.id, project);
    return { projectId: project.id, projectName: project.name, role: row.role, keyId, name: row.name };
  };

  const stamped = (actor: Omit<Actor, 'stamp'>, stamp: number): Actor => {
    const now = clock.now().getTime();
    if ((touched.get(actor.keyId) ?? 0) + TOUCH_INTERVAL_MS < now) {
      touched.set(actor.keyId, now);
      void storage.touchApiKey(actor.keyId, new Date(now).toISOString()).catch(() => undefined);
    }
    return { ...actor, stamp };
  };

  const readAndCache = async (hash: string): Promise<Actor> => {
    const cached = keys.get(hash);
    if (cached !== undefined) {
      const stamp = await storage.latestAuditSeq(cached.actor.projectId);
      if (stamp === cached.stamp) return stamped(cached.actor, stamp);
      keys.delete(hash);
    }
    const actor = await load(hash);
    // Read the stamp after the key: a change committed in between only makes the entry stale sooner.
    const stamp = await storage.latestAuditSeq(actor.projectId);
    keys.set(hash, { actor, stamp });
    return stamped(actor, stamp);
  };

  /**
   * Synchronous when the key is cached and the database answers the stamp synchronously (a SQLite
   * file): the read hot path then runs without a single promise. Throws `unauthorized` synchronously
   * for a missing or malformed header.
   */
  return (authorization: string | undefined): Actor | Promise<Actor> => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) throw unauthorized('this route needs an API key');
    const hash = hashApiKey(match[1]!);
    const cached = keys.get(hash);
    if (cached !== undefined && storage.latestAuditSeqNow !== undefined) {
      const stamp = storage.latestAuditSeqNow(cached.actor.projectId);
      if (stamp === cached.stamp) return stamped(cached.actor, stamp);
    }
    return readAndCache(hash);
  };
};
