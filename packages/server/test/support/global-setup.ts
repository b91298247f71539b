import type { TestProject } from 'vitest/node';
import { startPostgres, type PostgresCluster } from './postgres.js';

/** One throwaway PostgreSQL cluster for the whole run; each test file creates its own database in it. */
let cluster: PostgresCluster | undefined;

export const setup = async (project: TestProject): Promise<void> => {
  cluster = await startPostgres();
  project.provide('pgUrl', cluster.url);
};

export const teardown = async (): Promise<void> => {
  await cluster?.stop();
};

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
  }
}
