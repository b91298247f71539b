import type { AppOptions } from './app.js';
import { DEFAULT_LOG_LEVEL, loggerOptions, parseLogLevel, type LogLevel } from './logging.js';
import { parseTrustProxy, type TrustProxy } from './trust-proxy.js';
import { parseWriteRateLimit, writesPerMinute } from '../auth/write-limit.js';
import { metricsPublicFrom } from '../metrics/settings.js';

/** What `promptops serve` configures beyond the database: logging, the proxy in front, write limits. */
export interface ServeSettings {
  /** Logging: false for none; true is `info`, 'quiet' is `warn`. When unset, `logLevel` decides. */
  readonly log?: boolean | 'quiet';
  /** Default `PROMPTOPS_LOG_LEVEL`, else `warn` (failed authentications, refused writes, every 500). */
  readonly logLevel?: LogLevel;
  /** Where the JSON log lines go; default stderr (stdout carries start-up messages and `--json` output). */
  readonly logStream?: { write(line: string): void };
  /** Default `PROMPTOPS_TRUST_PROXY`, else false (`app/trust-proxy.ts`). */
  readonly trustProxy?: TrustProxy;
  /** Writes per minute per key, 0 for none; default `PROMPTOPS_WRITE_RATE_LIMIT`, else 1,200. */
  readonly writeRateLimit?: number;
  /** `/metrics` without a key; default `PROMPTOPS_METRICS_PUBLIC=1`, else a `metrics:read` key is needed. */
  readonly metricsPublic?: boolean;
}

const fromEnv = <T>(name: string, parse: (text: string, source: string) => T): T | undefined => {
  const text = process.env[name];
  return text === undefined || text === '' ? undefined : parse(text, name);
};

const logLevelOf = (settings: ServeSettings): LogLevel => {
  if (settings.log === true) return 'info';
  if (settings.log === 'quiet') return 'warn';
  return settings.logLevel ?? fromEnv('PROMPTOPS_LOG_LEVEL', parseLogLevel) ?? DEFAULT_LOG_LEVEL;
};

/** The app options these settings give; environment variables fill what the caller left unset. */
export const appSettings = (
  settings: ServeSettings,
): Pick<AppOptions, 'logger' | 'trustProxy' | 'writeRateLimit' | 'metricsPublic'> => {
  const trustProxy = settings.trustProxy ?? fromEnv('PROMPTOPS_TRUST_PROXY', parseTrustProxy) ?? false;
  const perMinute =
    settings.writeRateLimit === undefined
      ? fromEnv('PROMPTOPS_WRITE_RATE_LIMIT', parseWriteRateLimit)
      : parseWriteRateLimit(String(settings.writeRateLimit), 'writeRateLimit');
  return {
    logger: settings.log === false ? false : loggerOptions(logLevelOf(settings), settings.logStream ?? process.stderr),
    trustProxy,
    metricsPublic: settings.metricsPublic ?? metricsPublicFrom(process.env),
    ...(perMinute === undefined ? {} : { writeRateLimit: writesPerMinute(perMinute) }),
  };
};
