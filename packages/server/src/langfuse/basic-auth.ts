import { PromptopsError } from '@promptops/core';

/** Langfuse's public API lives under this prefix; only there is Basic auth read. */
export const LANGFUSE_API_PREFIX = '/api/public/';

export interface LangfuseCredentials {
  /** The secret key as the bearer header the authenticator reads: the secret key is the promptops API key. */
  readonly authorization: string;
  /** Must be the key's id (GET /api/v1/me, keyId): a pair that does not belong together is refused. */
  readonly publicKey: string;
}

/**
 * Langfuse clients send `Authorization: Basic base64(publicKey:secretKey)`. The secret is a promptops API
 * key and the public key its id, so the same authenticator, roles and limits apply as with a bearer key.
 * Anything else (a bearer header, no header) is left to the authenticator as it is.
 */
export const langfuseCredentials = (header: string | undefined): LangfuseCredentials | undefined => {
  const match = /^Basic\s+(\S+)\s*$/i.exec(header ?? '');
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { publicKey: decoded.slice(0, colon), authorization: `Bearer ${decoded.slice(colon + 1)}` };
};

export const keyMismatch = (): PromptopsError =>
  new PromptopsError(
    'unauthorized',
    'langfuse_key_mismatch',
    'the public key is not the id of the secret key: with promptops the secret key is an API key and the public key its id',
    {
      fix: 'set the public key (LANGFUSE_PUBLIC_KEY) to the key id shown by GET /api/v1/me (keyId) or promptops keys list',
    },
  );
