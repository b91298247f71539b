import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { PromptopsError } from '@promptops/core';

/**
 * Webhook secrets at rest: AES-256-GCM under a key derived from PROMPTOPS_SECRET_KEY (sha256 of a
 * purpose label and the variable), stored as `v1:<iv>:<tag>:<ciphertext>` in base64url. The secret must
 * be recoverable (each delivery is signed with it), so it is encrypted, not hashed.
 */

export const SECRET_KEY_ENV = 'PROMPTOPS_SECRET_KEY';
const MIN_KEY_LENGTH = 16;

export interface SecretBox {
  seal(plain: string): string;
  open(sealed: string): string;
}

export const secretKeyMissing = (): PromptopsError =>
  new PromptopsError(
    'unprocessable',
    'secret_key_missing',
    `webhooks need ${SECRET_KEY_ENV}: their secrets are stored encrypted with it, and this server has none`,
    {
      fix: `start the server with ${SECRET_KEY_ENV} set to a random value of at least ${MIN_KEY_LENGTH} characters (e.g. openssl rand -hex 32)`,
    },
  );

/** A box keyed from the variable's value; undefined when none is set. Throws on a value too short. */
export const secretBoxFrom = (value: string | undefined): SecretBox | undefined => {
  if (value === undefined || value === '') return undefined;
  if (value.length < MIN_KEY_LENGTH) {
    throw new Error(`${SECRET_KEY_ENV} must be at least ${MIN_KEY_LENGTH} characters; got ${value.length}`);
  }
  const key = createHash('sha256').update(`promptops webhook secrets\u0000${value}`).digest();
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      const parts = [iv, cipher.getAuthTag(), data].map((part) => part.toString('base64url'));
      return `v1:${parts.join(':')}`;
    },
    open(sealed) {
      const [version, iv, tag, data] = sealed.split(':');
      if (version !== 'v1' || iv === undefined || tag === undefined || data === undefined) {
        throw new Error('a webhook secret is stored in an unknown form');
      }
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    },
  };
};

/** A fresh secret to hand out once. */
export const newWebhookSecret = (): string => `whsec_${randomBytes(24).toString('base64url')}`;
