import { promptPath, withQuery, type ApiClient } from '../api/client';
import { matchPath } from './router';

/**
 * Render-as-you-fetch for the hot path: when the page opens on a prompt, its first requests start before
 * React has rendered anything, and the views pick up the answers (each answer once, within a few seconds).
 * The paths here must be the ones the views ask for: the prompt, its deployments, the first history page.
 */

const STALE_AFTER_MS = 5000;
const early = new Map<string, { promise: Promise<unknown>; at: number }>();

export const HISTORY_PAGE_SIZE = 20;

export const prefetchForLocation = (api: ApiClient, path: string, search: URLSearchParams): void => {
  const prompt = matchPath('/prompts/:name', path);
  if (prompt === undefined) return;
  const name = prompt['name']!;
  const urls = [promptPath(name), promptPath(name, '/deployments')];
  if ((search.get('tab') ?? 'history') === 'history') {
    urls.push(withQuery(promptPath(name, '/versions'), { limit: HISTORY_PAGE_SIZE }));
  }
  for (const url of urls) {
    const promise = api.get(url);
    promise.catch(() => undefined); // the view that takes it handles the error
    early.set(url, { promise, at: Date.now() });
  }
};

/** The early answer for `url`, if one was started moments ago; each is handed out once. */
export const takePrefetched = <T>(url: string): Promise<T> | undefined => {
  const entry = early.get(url);
  early.delete(url);
  return entry !== undefined && Date.now() - entry.at < STALE_AFTER_MS ? (entry.promise as Promise<T>) : undefined;
};
