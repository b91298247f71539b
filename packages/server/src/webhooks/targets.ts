import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { PromptopsError } from '@promptops/core';

/**
 * Where webhooks may be sent. Loopback, private, link-local, shared (CGNAT), multicast and unspecified
 * addresses, and cloud metadata endpoints (169.254.169.254, fd00:ec2::254) are refused, at creation and
 * again at send time on the addresses the name resolves to (the request then connects to the checked
 * address, so a rebinding name cannot swap it) — unless the operator sets PROMPTOPS_WEBHOOK_ALLOW_PRIVATE=1.
 */

export const ALLOW_PRIVATE_ENV = 'PROMPTOPS_WEBHOOK_ALLOW_PRIVATE';

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const)
  blocked.addSubnet(net, prefix, 'ipv6');

/** Whether an address is one webhooks must not reach (IPv4-mapped IPv6 is judged as its IPv4). */
export const isForbiddenAddress = (address: string): boolean => {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return blocked.check(mapped[1]!, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
};

export type Resolve = (host: string) => Promise<readonly string[]>;

export const systemResolve: Resolve = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((entry) => entry.address);

const refused = (url: string, why: string): PromptopsError =>
  new PromptopsError('unprocessable', 'webhook_target_forbidden', `webhook target ${url} is refused: ${why}`, {
    fix: `use a public http(s) address; an operator may allow private targets with ${ALLOW_PRIVATE_ENV}=1`,
  });

/** The URL, parsed and checked for its form (http/https, no credentials). */
export const parseTarget = (raw: string): URL => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PromptopsError('invalid', 'invalid_webhook', `url: '${raw}' is not a URL`, {
      fix: 'give an absolute http(s) URL, e.g. https://hooks.example.com/promptops',
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PromptopsError('invalid', 'invalid_webhook', `url: ${url.protocol} is not supported`, {
      fix: 'give an http(s) URL',
    });
  }
  if (url.username !== '' || url.password !== '') {
    throw new PromptopsError('invalid', 'invalid_webhook', 'url: credentials in the URL are not accepted', {
      fix: 'drop user:password@ from the URL; deliveries are signed with the webhook secret instead',
    });
  }
  return url;
};

const hostOf = (url: URL): string => url.hostname.replace(/^\[|\]$/g, '');

/**
 * The addresses `url`'s host resolves to, every one checked: throws `webhook_target_forbidden` when any
 * is forbidden (or the host does not resolve) unless `allowPrivate`.
 */
export const checkedAddresses = async (url: URL, resolve: Resolve, allowPrivate: boolean): Promise<string[]> => {
  const host = hostOf(url);
  let addresses: readonly string[];
  if (isIP(host) !== 0) addresses = [host];
  else {
    try {
      addresses = await resolve(host);
    } catch (error) {
      throw refused(url.href, `its host does not resolve (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  if (addresses.length === 0) throw refused(url.href, 'its host resolves to no address');
  if (!allowPrivate) {
    const bad = addresses.find(isForbiddenAddress);
    if (bad !== undefined)
      throw refused(url.href, `${host} is ${bad}, a private, loopback, link-local or metadata address`);
  }
  return [...addresses];
};
