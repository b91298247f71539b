import { sha256Hex } from '@promptops/core/canonical';

/**
 * sha256 (hex of the UTF-8 text) for verifying snapshots. node:crypto is imported on first use, so the SDK
 * still loads where it is missing (then core's portable digest, some 10x slower, does the work): its
 * one-shot `crypto.hash` (Node >= 20.12) where present, a `createHash` object otherwise. Only speed
 * differs; the digest is the same.
 */

export type Digest = (text: string) => string;

interface NodeCrypto {
  readonly hash?: (algorithm: string, data: string, encoding: 'hex') => string;
  createHash(algorithm: string): { update(data: string): { digest(encoding: 'hex'): string } };
}

/** The fastest sha256 a node:crypto module offers. */
export const nodeDigest = (crypto: NodeCrypto): Digest => {
  const { hash } = crypto;
  return typeof hash === 'function'
    ? (text) => hash('sha256', text, 'hex')
    : (text) => crypto.createHash('sha256').update(text).digest('hex');
};

let digest: Digest = sha256Hex;
let loading: Promise<void> | undefined;

/** Switches to node:crypto's digest when the runtime has it; resolves either way. */
export const loadDigest = (): Promise<void> =>
  (loading ??= import('node:crypto').then(
    (crypto) => {
      digest = nodeDigest(crypto as NodeCrypto);
    },
    () => undefined,
  ));

export const sha256 = (text: string): string => digest(text);
