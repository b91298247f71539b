import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PromptopsError } from '@promptops/core';
import type { Clock } from '../context.js';
import type { AccessTx } from '../access/store.js';
import type { ProjectRow, RegistryStore, RegistryTx } from '../registry/store.js';
import type { Transaction } from '../storage/transaction.js';
import { StorageConflictError } from '../storage/index.js';
import { MIN_KEY_LENGTH, generateApiKey, hashApiKey, keyIdOf } from './keys.js';

export const DEFAULT_PROJECT = 'default';
export const CREDENTIALS_FILE = 'credentials.json';

export interface BootstrapResult {
  readonly project: ProjectRow;
  /** Set when this call created the admin key; shown once. */
  readonly adminKey?: string;
  /** Set when the key was generated (not given) and written for the local CLI. */
  readonly credentialsPath?: string;
}

/**
 * An empty database gets a `default` project and an admin key: `PROMPTOPS_INIT_ADMIN_KEY` when given
 * (headless deployments), else a generated one, written with mode 0600 to the data directory's
 * credentials file so the CLI on this machine picks it up. A database that has a project is left alone.
 */
/** The stores bootstrap uses. */
export interface BootstrapStores {
  readonly registry: RegistryStore;
  readonly transaction: Transaction<{ readonly registry: RegistryTx; readonly access: AccessTx }>;
}

export const bootstrap = async (
  { registry, transaction }: BootstrapStores,
  clock: Clock,
  options: { initAdminKey?: string | undefined; dataDir: string; url: string },
): Promise<BootstrapResult> => {
  const existing = await registry.getProjectByName(DEFAULT_PROJECT);
  if (existing || (await registry.countProjects()) > 0) {
    return { project: existing ?? (await registry.getProject(1))! };
  }
  const given = options.initAdminKey;
  if (given !== undefined && given.length < MIN_KEY_LENGTH) {
    throw new PromptopsError(
      'invalid',
      'weak_init_key',
      `PROMPTOPS_INIT_ADMIN_KEY is ${given.length} characters long`,
      {
        fix: `use a random key of at least ${MIN_KEY_LENGTH} characters, e.g. po_$(openssl rand -hex 24)`,
      },
    );
  }
  const key = given ?? generateApiKey();
  const at = clock.now().toISOString();
  // Two replicas may bootstrap at once: the loser either sees the winner's project or collides with it on
  // the unique project name, and then uses the winner's.
  const created = await transaction(async (tx) => {
    const raced = await tx.registry.getProjectByName(DEFAULT_PROJECT);
    if (raced) return undefined;
    const project = await tx.registry.createProject(DEFAULT_PROJECT, at);
    const hash = hashApiKey(key);
    await tx.access.insertApiKey({
      projectId: project.id,
      keyId: keyIdOf(hash),
      hash,
      role: 'admin',
      name: 'admin',
      userId: null,
      createdBy: 'bootstrap',
      createdAt: at,
    });
    await tx.registry.appendAudit({
      projectId: project.id,
      at,
      actor: 'bootstrap',
      action: 'project.created',
      target: DEFAULT_PROJECT,
      data: { keyId: keyIdOf(hash), role: 'admin' },
    });
    return project;
  }).catch((error: unknown) => {
    if (error instanceof StorageConflictError) return undefined;
    throw error;
  });
  if (!created) return { project: (await registry.getProjectByName(DEFAULT_PROJECT))! };
  if (given !== undefined) return { project: created, adminKey: key };
  await mkdir(options.dataDir, { recursive: true });
  const credentialsPath = join(options.dataDir, CREDENTIALS_FILE);
  await writeFile(
    credentialsPath,
    `${JSON.stringify({ url: options.url, apiKey: key, project: DEFAULT_PROJECT }, null, 2)}\n`,
    { mode: 0o600 },
  );
  await chmod(credentialsPath, 0o600);
  return { project: created, adminKey: key, credentialsPath };
};
