/** Bounded concurrency for requests: a few in flight hide network latency without hammering the server. */

export const DEFAULT_CONCURRENCY = 4;

/**
 * Runs `task` over `items` with bounded concurrency, reporting results in input order as soon as they
 * are ready. The first thrown error stops new tasks and is rethrown once the running ones settle.
 */
export const mapInOrder = async <T, R>(
  items: readonly T[],
  task: (item: T) => Promise<R>,
  report: (result: R, index: number) => void = () => {},
  concurrency = DEFAULT_CONCURRENCY,
): Promise<R[]> => {
  const results: (R | undefined)[] = new Array<R | undefined>(items.length);
  const ready: boolean[] = new Array<boolean>(items.length).fill(false);
  let next = 0;
  let reported = 0;
  let failed: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < items.length) {
      const index = next++;
      try {
        results[index] = await task(items[index] as T);
        ready[index] = true;
      } catch (error) {
        failed ??= { error };
        return;
      }
      while (failed === undefined && reported < items.length && ready[reported] === true) {
        report(results[reported] as R, reported);
        reported += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failed !== undefined) throw failed.error;
  return results as R[];
};
