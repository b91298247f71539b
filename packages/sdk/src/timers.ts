/**
 * Timer helpers. Every timer the SDK starts is unref'd where the runtime supports it, so a client
 * never keeps a process alive on its own; `close()` still clears them all.
 */

type Timer = ReturnType<typeof setTimeout>;

export const unref = <T extends Timer | ReturnType<typeof setInterval>>(timer: T): T => {
  (timer as { unref?: () => void }).unref?.();
  return timer;
};

/** Resolves after `ms`, or at once when `signal` aborts (never rejects: callers check `signal.aborted`). */
export const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = unref(setTimeout(done, ms));
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * "Full jitter" exponential backoff: a uniformly random delay in [0, min(max, initial * 2^attempt)],
 * so many clients that lost the same server do not reconnect in lockstep.
 */
export const backoffDelay = (
  attempt: number,
  initialMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number => random() * Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));

/**
 * An AbortController that also aborts when `parent` does and, when `timeoutMs` is given, after that
 * long. `dispose()` detaches it from the parent and clears the timer (AbortSignal.any and
 * AbortSignal.timeout are not in every runtime the SDK targets, and timeout() cannot be unref'd).
 */
export interface LinkedAbort {
  readonly signal: AbortSignal;
  abort(reason?: unknown): void;
  dispose(): void;
}

export const linkedAbort = (parent: AbortSignal, timeoutMs?: number, onTimeout?: () => unknown): LinkedAbort => {
  const controller = new AbortController();
  const fromParent = (): void => controller.abort(parent.reason);
  if (parent.aborted) controller.abort(parent.reason);
  else parent.addEventListener('abort', fromParent, { once: true });
  const timer =
    timeoutMs === undefined ? undefined : unref(setTimeout(() => controller.abort(onTimeout?.()), timeoutMs));
  return {
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    dispose: () => {
      if (timer !== undefined) clearTimeout(timer);
      parent.removeEventListener('abort', fromParent);
    },
  };
};

/**
 * Calls `probe` about once per `intervalMs` until it returns true (resolves true) or `signal` aborts
 * (false). The first call waits a random part of the interval, so a fleet of clients that lost the same
 * server at the same moment does not probe it in lockstep; each later one starts an interval after the
 * previous one started. Never rejects: a probe that throws counts as a failed one.
 */
export const probeUntil = async (
  probe: (signal: AbortSignal) => Promise<boolean>,
  intervalMs: number,
  signal: AbortSignal,
  random: () => number = Math.random,
): Promise<boolean> => {
  let wait = random() * intervalMs;
  for (;;) {
    await sleep(wait, signal);
    if (signal.aborted) return false;
    const started = Date.now();
    if (await probe(signal).catch(() => false)) return !signal.aborted;
    wait = Math.max(0, intervalMs - (Date.now() - started));
  }
};
