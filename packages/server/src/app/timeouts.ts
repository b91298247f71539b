/**
 * Server-wide HTTP timeouts (Node's http.Server), so no connection holds the server indefinitely:
 * - `headersMs`: a request's headers must arrive within it (Node's headersTimeout);
 * - `requestMs`: the whole request, body included, must arrive within it (requestTimeout); past either,
 *   the client gets 408 and the connection is closed. A response may take as long as it needs (change
 *   streams stay open);
 * - `keepAliveMs`: an idle keep-alive connection is closed after it (above common load balancers' 60 s
 *   idle timeout, so the balancer closes first and never reuses a connection the server is closing);
 * - `checkIntervalMs`: how often Node checks the first two, so they are enforced within this much.
 */
export interface ServerTimeouts {
  readonly headersMs?: number;
  readonly requestMs?: number;
  readonly keepAliveMs?: number;
  readonly checkIntervalMs?: number;
}

export const DEFAULT_TIMEOUTS: Required<ServerTimeouts> = {
  headersMs: 20_000,
  requestMs: 60_000,
  keepAliveMs: 72_000,
  checkIntervalMs: 2_000,
};

export const resolveTimeouts = (given: ServerTimeouts = {}): Required<ServerTimeouts> => {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...given };
  for (const [name, value] of Object.entries(timeouts)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`timeouts.${name} must be a positive integer of milliseconds (got ${String(value)})`);
    }
  }
  if (timeouts.headersMs > timeouts.requestMs) {
    throw new RangeError(
      `timeouts.headersMs (${timeouts.headersMs}) must not exceed timeouts.requestMs (${timeouts.requestMs})`,
    );
  }
  return timeouts;
};
