import type { ReactNode } from 'react';
import { ApiError } from '../api/client';

export const Loading = ({ what }: { what: string }) => (
  <p className="muted loading" aria-busy="true">
    Loading {what}…
  </p>
);

/** An API error in plain words, with the server's suggested fix when it gave one. */
export const ErrorNote = ({ error, retry }: { error: Error; retry?: () => void }) => (
  <div className="error-note" role="alert">
    <p>
      <strong>{error instanceof ApiError && error.status === 403 ? 'Not allowed' : 'Something went wrong'}:</strong>{' '}
      {error.message}
    </p>
    {error instanceof ApiError && error.fix !== undefined && <p className="muted">{error.fix}</p>}
    {retry !== undefined && (
      <button type="button" className="button" onClick={retry}>
        Try again
      </button>
    )}
  </div>
);

export const Empty = ({ children }: { children: ReactNode }) => <p className="empty muted">{children}</p>;
