import { sha256Hex } from '@promptops/core';
import { afterEach } from 'vitest';
import { createStorage, type RawSqlAccess, type Stores } from '../../src/app/stores.js';
import type { AuditRow, RegistryTx } from '../../src/registry/store.js';
import { testDatabase, type TestDialect } from '../support/databases.js';

/** What the store contract suites share: fixed times, a push as the service does it, fresh stores per test. */

export type TestStorage = Stores & RawSqlAccess;

export const AT = '2024-11-25T10:00:00.000Z';
export const shaOf = (text: string): string => sha256Hex(text);

/** What a push does: lock the prompt, read its head, append head+1, move the head. */
export const pushNext = async (tx: RegistryTx, projectId: number, name: string, author: string): Promise<number> => {
  const prompt = await tx.registry.lockPrompt(projectId, name, AT);
  const version = prompt.headVersion + 1;
  const sha = shaOf(`${name} v${version}`);
  await tx.registry.insertVersion({
    projectId,
    promptId: prompt.id,
    version,
    sha,
    content: JSON.stringify({ version }),
    parentSha: prompt.headSha,
    author,
    message: `v${version}`,
    createdAt: AT,
  });
  await tx.registry.setPromptHead(prompt.id, version, sha, AT);
  return version;
};

export const toChain = (rows: readonly AuditRow[]) =>
  rows.map((row) => ({ ...row, data: JSON.parse(row.data) as Record<string, unknown> }));

export const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
};

/**
 * Called inside a suite: `open()` gives stores on a fresh, empty database of `dialect` (or on `url`), closed
 * after each test; `seed` makes a project with one prompt (`greeter`) holding `versions` versions.
 */
export const storesFixture = (dialect: TestDialect) => {
  const opened: TestStorage[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((storage) => storage.close()));
  });
  const backend = { dialect, freshUrl: () => testDatabase(dialect) };
  const open = async (url?: string): Promise<TestStorage> => {
    const storage = await createStorage(url ?? (await backend.freshUrl()));
    opened.push(storage);
    return storage;
  };
  const seed = async (storage: Stores, versions = 0) =>
    storage.transaction(async (tx) => {
      const project = await tx.registry.createProject('acme', AT);
      const prompt = await tx.registry.lockPrompt(project.id, 'greeter', AT);
      for (let i = 0; i < versions; i++) await pushNext(tx, project.id, 'greeter', 'ada');
      return { project, prompt };
    });
  return { backend, open, seed };
};
