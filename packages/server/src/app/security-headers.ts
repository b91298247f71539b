import type { FastifyInstance } from 'fastify';

/**
 * Response headers that keep a browser from misusing what the server sends. The dashboard's policy allows
 * exactly what its build uses (packages/web/dist: module scripts and stylesheets from /assets, fetches to
 * its own origin, the `data:` favicon; React's `style` props go through the CSSOM, which `style-src` does
 * not govern), so an injected inline script or a foreign origin is refused, and no site may frame it.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const DASHBOARD_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': DASHBOARD_CSP,
  'x-frame-options': 'DENY', // for browsers without frame-ancestors
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin', // dashboard URLs name prompts: none leaves for another origin
};

/** API answers are data, never a page: nothing in one may load or run, and none may be framed. */
const API_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
};

/**
 * Sends the API's headers with every answer the dashboard's routes did not already give its own (errors
 * and 404s included). Register before any route. Hijacked replies (the event stream) set theirs themselves.
 */
export const registerSecurityHeaders = (app: FastifyInstance): void => {
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (!reply.hasHeader('content-security-policy')) reply.headers(API_HEADERS);
    done(null, payload);
  });
};
