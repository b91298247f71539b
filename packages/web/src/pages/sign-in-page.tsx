import { useId, useState, type FormEvent } from 'react';
import { ApiError, fetchMe } from '../api/client';
import type { Me } from '../api/types';

/** Sign in with an API key; /me confirms it and tells its role before anything else loads. */
export const SignInPage = ({
  signIn,
  notice,
}: {
  signIn: (key: string, me: Me) => void;
  notice?: string | undefined;
}) => {
  const id = useId();
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [checking, setChecking] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setChecking(true);
    setError(undefined);
    try {
      signIn(key.trim(), await fetchMe<Me>(key.trim()));
    } catch (caught) {
      setError(
        caught instanceof ApiError && caught.status === 401
          ? 'This key was not accepted: it is unknown or revoked.'
          : `Could not reach the server: ${caught instanceof Error ? caught.message : String(caught)}`,
      );
      setChecking(false);
    }
  };

  return (
    <main className="sign-in" id="main">
      <form className="card sign-in-card" onSubmit={(event) => void submit(event)}>
        <h1 className="brand-title">promptops</h1>
        <p className="muted">Sign in with an API key. It stays in this browser tab only (session storage).</p>
        {notice !== undefined && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        <label htmlFor={id} className="field-label">
          API key
        </label>
        <input
          id={id}
          className="input"
          type="password"
          autoComplete="off"
          spellCheck={false}
          required
          value={key}
          onChange={(event) => setKey(event.target.value)}
          placeholder="po_…"
          aria-describedby={`${id}-hint`}
        />
        <p id={`${id}-hint`} className="small muted">
          <code>promptops serve</code> prints the admin key and writes it to <code>.promptops/credentials.json</code>.
        </p>
        {error !== undefined && (
          <p className="error-text" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="button button-primary" disabled={checking || key.trim() === ''}>
          {checking ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
};
