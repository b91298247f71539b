import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { ApiError, createApiClient, fetchMe, type ApiClient } from '../api/client';
import type { Me, Role } from '../api/types';
import { prefetchForLocation } from './prefetch';

/**
 * The signed-in API key. It lives in sessionStorage: it survives a reload of the tab, not the closing of
 * the browser, and is never written anywhere else. The page asks /me for the key's role and hides what
 * the role may not do; the server enforces it anyway.
 */

const STORAGE_KEY = 'promptops.apiKey';

const ROLE_ORDER: readonly Role[] = ['viewer', 'editor', 'reviewer', 'deployer', 'admin'];

export const roleAtLeast = (role: Role, needed: Role): boolean =>
  ROLE_ORDER.indexOf(role) >= ROLE_ORDER.indexOf(needed);

export interface Session {
  readonly api: ApiClient;
  readonly me: Me;
  /** Promote and rollback need deployer. */
  readonly canDeploy: boolean;
  signOut(): void;
}

type SessionState =
  | { readonly status: 'checking' }
  | { readonly status: 'signed-out'; readonly notice?: string }
  | { readonly status: 'signed-in'; readonly key: string; readonly me: Me };

/** The first session of a page load starts the current page's requests early (see prefetch.ts). */
let prefetched = false;

const SessionContext = createContext<Session | undefined>(undefined);

export const useSession = (): Session => {
  const session = useContext(SessionContext);
  if (session === undefined) throw new Error('useSession outside a signed-in SessionProvider');
  return session;
};

interface StoredSession {
  readonly key: string;
  /** The last /me answer: the page renders at once on a reload and checks the key again behind it. */
  readonly me?: Me;
}

const readStored = (): StoredSession | null => {
  try {
    const text = window.sessionStorage.getItem(STORAGE_KEY);
    return text === null ? null : (JSON.parse(text) as StoredSession);
  } catch {
    return null; // storage disabled or unreadable: sign in again
  }
};

const store = (session: StoredSession | null): void => {
  try {
    if (session === null) window.sessionStorage.removeItem(STORAGE_KEY);
    else window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  } catch {
    // storage disabled: the key lives only in memory
  }
};

const initialState = (): SessionState => {
  const stored = readStored();
  if (stored === null || typeof stored.key !== 'string') return { status: 'signed-out' };
  return stored.me === undefined ? { status: 'checking' } : { status: 'signed-in', key: stored.key, me: stored.me };
};

export interface SessionGateProps {
  /** Shown while signed out; calls `signIn` with a key that /me accepted. */
  readonly signInPage: (props: { signIn: (key: string, me: Me) => void; notice?: string | undefined }) => ReactNode;
  readonly children: ReactNode;
}

export const SessionGate = ({ signInPage, children }: SessionGateProps) => {
  const [state, setState] = useState<SessionState>(initialState);

  // Check the stored key once per page load: a revoked key signs out, a changed role shows at once.
  useEffect(() => {
    const stored = readStored();
    if (stored === null) return;
    fetchMe<Me>(stored.key).then(
      (me) => {
        store({ key: stored.key, me });
        // Same answer as the stored one: keep the state, so nothing reloads or reconnects.
        if (JSON.stringify(me) !== JSON.stringify(stored.me)) setState({ status: 'signed-in', key: stored.key, me });
      },
      (error: unknown) => {
        if (error instanceof ApiError && error.status === 401) {
          store(null);
          setState({ status: 'signed-out', notice: 'Your session ended (the key was refused). Sign in again.' });
        } else if (stored.me === undefined) {
          setState({ status: 'signed-out', notice: 'Could not reach the server to check the key. Try again.' });
        }
      },
    );
  }, []);

  const signOut = useCallback((notice?: string) => {
    store(null);
    setState(notice === undefined ? { status: 'signed-out' } : { status: 'signed-out', notice });
  }, []);

  const signIn = useCallback((key: string, me: Me) => {
    store({ key, me });
    setState({ status: 'signed-in', key, me });
  }, []);

  const key = state.status === 'signed-in' ? state.key : undefined;
  const me = state.status === 'signed-in' ? state.me : undefined;
  const session = useMemo<Session | undefined>(() => {
    if (key === undefined || me === undefined) return undefined;
    const api = createApiClient(key, () => signOut('The key was refused (revoked or unknown). Sign in again.'));
    if (!prefetched) {
      prefetched = true;
      prefetchForLocation(api, window.location.pathname, new URLSearchParams(window.location.search));
    }
    return { api, me, canDeploy: roleAtLeast(me.role, 'deployer'), signOut: () => signOut() };
  }, [key, me, signOut]);

  if (state.status === 'checking') return <p className="page-status">Checking your key…</p>;
  if (session === undefined)
    return signInPage({ signIn, notice: state.status === 'signed-out' ? state.notice : undefined });
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
};
