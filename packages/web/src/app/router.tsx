import { useCallback, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';

/**
 * A few lines of history routing instead of a router dependency: the dashboard has six routes, and the
 * server answers these routes with index.html (DASHBOARD_SECTIONS in packages/server/src/app/web.ts), so
 * deep links and reloads work.
 */

const NAVIGATED = 'promptops:navigated';

const subscribe = (onChange: () => void): (() => void) => {
  window.addEventListener('popstate', onChange);
  window.addEventListener(NAVIGATED, onChange);
  return () => {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener(NAVIGATED, onChange);
  };
};

const currentUrl = (): string => window.location.pathname + window.location.search;

export const navigate = (to: string, options: { replace?: boolean } = {}): void => {
  if (to === currentUrl()) return;
  if (options.replace === true) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  window.dispatchEvent(new Event(NAVIGATED));
};

export interface Location {
  readonly path: string;
  readonly search: URLSearchParams;
}

export const useLocation = (): Location => {
  const url = useSyncExternalStore(subscribe, currentUrl);
  const parsed = new URL(url, window.location.origin);
  return { path: parsed.pathname, search: parsed.searchParams };
};

/** Reads and writes query parameters; writing replaces the history entry unless `push` is set. */
export const useSearchParam = (): ((changes: Record<string, string | undefined>, push?: boolean) => void) =>
  useCallback((changes, push = false) => {
    const url = new URL(window.location.href);
    for (const [key, value] of Object.entries(changes)) {
      if (value === undefined || value === '') url.searchParams.delete(key);
      else url.searchParams.set(key, value);
    }
    navigate(url.pathname + url.search, { replace: !push });
  }, []);

/** Matches `/prompts/:name` style patterns; parameters are decoded. */
export const matchPath = (pattern: string, path: string): Record<string, string> | undefined => {
  const want = pattern.split('/');
  const have = path.replace(/\/+$/, '').split('/');
  if (want.length !== have.length) return undefined;
  const params: Record<string, string> = {};
  for (const [index, part] of want.entries()) {
    const actual = have[index] ?? '';
    if (part.startsWith(':')) {
      if (actual === '') return undefined;
      params[part.slice(1)] = decodeURIComponent(actual);
    } else if (part !== actual) return undefined;
  }
  return params;
};

const isPlainClick = (event: MouseEvent<HTMLAnchorElement>): boolean =>
  event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey;

export const Link = ({
  to,
  replace,
  ...props
}: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string; replace?: boolean }) => (
  <a
    {...props}
    href={to}
    onClick={(event) => {
      props.onClick?.(event);
      if (event.defaultPrevented || !isPlainClick(event)) return; // new tab, download: the browser's job
      event.preventDefault();
      navigate(to, replace === undefined ? {} : { replace });
    }}
  />
);
