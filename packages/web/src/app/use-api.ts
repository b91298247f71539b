import { useCallback, useEffect, useState } from 'react';
import type { Query } from '../api/client';
import { withQuery } from '../api/client';
import { takePrefetched } from './prefetch';
import { useSession } from './session';

export interface Resource<T> {
  /** The data for the current path; kept while a reload of the same path runs, so nothing flickers. */
  readonly data: T | undefined;
  readonly error: Error | undefined;
  readonly loading: boolean;
  reload(): void;
}

interface Loaded<T> {
  readonly url: string;
  readonly data?: T;
  readonly error?: Error;
}

/**
 * GET one API path; `null` waits. Each caller loads on its own, so one slow query blocks nothing else.
 * A change of `revision` reloads (a live event or a rollback says the data moved).
 */
export const useApiGet = <T>(path: string | null, query?: Query, revision: string | number = 0): Resource<T> => {
  const { api } = useSession();
  const url = path === null ? null : withQuery(path, query);
  const [loaded, setLoaded] = useState<Loaded<T> | undefined>(undefined);
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    if (url === null) return;
    const controller = new AbortController();
    (takePrefetched<T>(url) ?? api.get<T>(url, undefined, controller.signal)).then(
      (data) => setLoaded({ url, data }),
      (error: unknown) => {
        if (controller.signal.aborted) return;
        setLoaded({ url, error: error instanceof Error ? error : new Error(String(error)) });
      },
    );
    return () => controller.abort();
  }, [api, url, generation, revision]);

  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  const current = loaded !== undefined && loaded.url === url ? loaded : undefined;
  return {
    data: current?.data,
    error: current?.error,
    loading: url !== null && current === undefined,
    reload,
  };
};
