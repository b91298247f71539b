import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';

/**
 * One HTTP POST to a checked address: the socket connects to `address` (already validated by
 * `targets.ts`) whatever the name resolves to now, while the Host header and TLS name stay the URL's.
 * Redirects are not followed (a 3xx is a failed attempt), so a target cannot bounce a delivery elsewhere.
 */

export interface SendResult {
  readonly status: number | null;
  readonly error: string | null;
}

export type Send = (
  url: URL,
  address: string,
  headers: Readonly<Record<string, string>>,
  body: string,
  timeoutMs: number,
) => Promise<SendResult>;

const pinned =
  (address: string): LookupFunction =>
  (_hostname, options, callback) => {
    const family = isIP(address);
    if ((options as { all?: boolean }).all === true) {
      (callback as unknown as (e: null, list: { address: string; family: number }[]) => void)(null, [
        { address, family },
      ]);
    } else callback(null, address, family);
  };

export const httpSend: Send = (url, address, headers, body, timeoutMs) =>
  new Promise((resolve) => {
    const options: RequestOptions = {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      lookup: pinned(address),
      timeout: timeoutMs,
    };
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? null, error: null }));
      response.on('error', (error) => resolve({ status: response.statusCode ?? null, error: error.message }));
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (error) => resolve({ status: null, error: error.message }));
    request.end(body);
  });
