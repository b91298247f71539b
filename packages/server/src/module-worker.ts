import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * Starts a worker thread that runs `entry()` of a module, named by its URL without the extension (e.g.
 * `new URL('./worker', import.meta.url)`). When the server runs from its TypeScript sources (tests), the
 * module is loaded through tsx (a development dependency); from the build, it is imported as is.
 */
const EXTENSION = extname(fileURLToPath(import.meta.url));

const BOOTSTRAP = `
(async () => {
  const { workerData } = await import('node:worker_threads');
  const { module, entry, tsx } = workerData.load;
  const loaded = tsx === undefined ? await import(module) : await (await import(tsx)).tsImport(module, module);
  await loaded[entry]();
})();
`;

export const startModuleWorker = (moduleUrl: URL, entry: string, workerData: object): Worker => {
  const module = `${moduleUrl.href}${EXTENSION}`;
  const tsx = EXTENSION === '.ts' ? 'tsx/esm/api' : undefined;
  return new Worker(BOOTSTRAP, { eval: true, workerData: { ...workerData, load: { module, entry, tsx } } });
};

/**
 * Asks a worker to end (`message`), waits for `exited`, and terminates the worker if it has not exited
 * within `graceMs`.
 */
export const endWorker = async (
  worker: Worker,
  exited: Promise<unknown>,
  message: unknown,
  graceMs = 2000,
): Promise<void> => {
  worker.postMessage(message);
  const timer = setTimeout(() => void worker.terminate(), graceMs);
  await exited;
  clearTimeout(timer);
};

/**
 * Lowers the calling thread's priority (Linux: `/proc/thread-self` names the thread, and a thread id is a
 * valid target of setpriority). When the CPU is short the main thread, which answers prompt resolution,
 * runs first. Elsewhere the thread keeps the default priority.
 */
export const yieldCpuToMainThread = (): void => {
  try {
    setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), 10);
  } catch {
    // Not Linux: the default priority.
  }
};
