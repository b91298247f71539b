import {
  MIN_AUDIT_KEY_LENGTH,
  PromptopsError,
  auditEntryMac,
  auditHeadSignature,
  type AuditHead,
} from '@promptops/core';

/**
 * The audit HMAC keys, from PROMPTOPS_AUDIT_HMAC_KEY: held by the server process, never written to the
 * database. The first key authenticates new entries and signs exported heads; keys after a comma are
 * older ones, still accepted when verifying (so the key can be rotated).
 */

export const AUDIT_KEY_ENV = 'PROMPTOPS_AUDIT_HMAC_KEY';

type HeadFields = Pick<AuditHead, 'project' | 'seq' | 'hash'>;

export interface AuditKeyring {
  /** The HMAC of a new entry's hash, with the current key. */
  mac(projectId: number, hash: string): string;
  /** Whether one of the keys made `mac`. */
  macHolds(projectId: number, hash: string, mac: string): boolean;
  signHead(head: HeadFields): string;
  headSignatureHolds(head: HeadFields, signature: string): boolean;
}

/** The keyring a PROMPTOPS_AUDIT_HMAC_KEY value describes; undefined when it is unset or empty. */
export const parseAuditKeys = (value: string | undefined): AuditKeyring | undefined => {
  const keys = (value ?? '').split(',').map((key) => key.trim());
  if (keys.every((key) => key === '')) return undefined;
  keys.forEach((key, index) => {
    if (key.length < MIN_AUDIT_KEY_LENGTH) {
      throw new PromptopsError(
        'invalid',
        'weak_audit_key',
        `${AUDIT_KEY_ENV}: key ${index + 1} of ${keys.length} is ${key.length} characters long, below ${MIN_AUDIT_KEY_LENGTH}`,
        {
          fix: `use a random key of at least ${MIN_AUDIT_KEY_LENGTH} characters, e.g. $(openssl rand -hex 32); list older keys after it, comma-separated`,
        },
      );
    }
  });
  const [current] = keys as [string, ...string[]];
  return {
    mac: (projectId, hash) => auditEntryMac(current, projectId, hash),
    macHolds: (projectId, hash, mac) => keys.some((key) => auditEntryMac(key, projectId, hash) === mac),
    signHead: (head) => auditHeadSignature(current, head),
    headSignatureHolds: (head, signature) => keys.some((key) => auditHeadSignature(key, head) === signature),
  };
};
