import { isIP } from 'node:net';
import { PromptopsError } from '@promptops/core';

/**
 * Whose `X-Forwarded-For` the server believes, as Fastify's `trustProxy`: `true` every hop, a number the
 * N nearest hops (whatever their address), a list only those proxy addresses or CIDRs. The client address
 * it yields is what the auth-failure limiter and the logs count. `true` and a hop count are safe only when
 * clients cannot reach the server except through the proxies; a list is safe anywhere.
 */
export type TrustProxy = boolean | number | readonly string[];

/** proxy-addr's names for reserved ranges. */
const RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

const FIX =
  'use true (trust every hop), false (the default), a hop count (1: trust the nearest proxy), or a ' +
  'comma-separated list of proxy addresses or CIDRs (e.g. 10.0.0.1,10.1.0.0/16; also loopback, linklocal, uniquelocal)';

const isAddressOrCidr = (entry: string): boolean => {
  if (RANGE_NAMES.has(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
};

/** `--trust-proxy` / `PROMPTOPS_TRUST_PROXY`; `source` names the setting in the error. */
export const parseTrustProxy = (text: string, source: string): TrustProxy => {
  const value = text.trim();
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  if (/^[0-9]{1,3}$/.test(value)) return Number(value);
  const entries = value.split(',').map((entry) => entry.trim());
  const bad = entries.find((entry) => !isAddressOrCidr(entry));
  if (bad !== undefined) {
    throw new PromptopsError(
      'invalid',
      'invalid_trust_proxy',
      `${source} "${value}": ${bad === '' ? 'an empty entry' : `"${bad}"`} is not true, false, a hop count, an IP address or a CIDR`,
      { fix: FIX },
    );
  }
  return entries;
};

/** The value Fastify takes. Fastify ignores a bare number, so a hop count becomes a function. */
export const fastifyTrustProxy = (
  trust: TrustProxy,
): boolean | string[] | ((address: string, hop: number) => boolean) => {
  if (typeof trust === 'number') return trust === 0 ? false : (_address, hop) => hop < trust;
  return typeof trust === 'boolean' ? trust : [...trust];
};
