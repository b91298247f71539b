/**
 * Flush on exit, best effort: Node emits `beforeExit` when the event loop runs dry, which is exactly
 * when an unref'd batch timer would otherwise be lost. A hook that starts a request keeps the process
 * alive until it settles; `beforeExit` then fires again and, with nothing left, the process exits.
 * One process listener serves every exporter (100 clients must not trip MaxListenersExceededWarning).
 * `process.exit()` and signals skip `beforeExit`: call `await client.close()` in those paths.
 */

type Hook = () => void;

const hooks = new Set<Hook>();

interface ProcessLike {
  on(event: 'beforeExit', listener: () => void): unknown;
  off(event: 'beforeExit', listener: () => void): unknown;
}

const nodeProcess = (): ProcessLike | undefined => {
  const candidate = (globalThis as { process?: Partial<ProcessLike> }).process;
  return typeof candidate?.on === 'function' && typeof candidate.off === 'function'
    ? (candidate as ProcessLike)
    : undefined;
};

const runHooks = (): void => {
  for (const hook of [...hooks]) {
    try {
      hook();
    } catch {
      // one exporter's failure must not stop the others from flushing
    }
  }
};

/** Registers `hook` for `beforeExit`; returns the unregister function. A no-op outside Node. */
export const onBeforeExit = (hook: Hook): (() => void) => {
  const process = nodeProcess();
  if (process === undefined) return () => undefined;
  if (hooks.size === 0) process.on('beforeExit', runHooks);
  hooks.add(hook);
  return () => {
    if (hooks.delete(hook) && hooks.size === 0) process.off('beforeExit', runHooks);
  };
};
