import { PromptopsError } from '@promptops/core';
import type { FastifyServerOptions } from 'fastify';

/** pino's levels; `silent` logs nothing. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Warnings (failed authentications, refused writes) and errors (every 500) by default. */
export const DEFAULT_LOG_LEVEL: LogLevel = 'warn';

/** `--log-level` / `PROMPTOPS_LOG_LEVEL`; `source` names the setting in the error. */
export const parseLogLevel = (text: string, source: string): LogLevel => {
  const level = text.trim().toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  throw new PromptopsError('invalid', 'invalid_log_level', `${source} "${text}" is not a log level`, {
    fix: `use one of ${LOG_LEVELS.join(', ')} (default ${DEFAULT_LOG_LEVEL})`,
  });
};

/**
 * Fastify's pino logger: one JSON object per line to `stream`. Request logs carry `requestId`, the id a
 * 500 returns. Fastify's request serializer logs no headers; the redaction is there for any other call
 * that might pass them, so a key can reach the log only if someone puts it in a message.
 */
export const loggerOptions = (
  level: LogLevel,
  stream: { write(line: string): void },
): NonNullable<Exclude<FastifyServerOptions['logger'], boolean>> => ({
  level,
  stream,
  redact: {
    paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie'],
    censor: '[redacted]',
  },
});
