/** Display helpers: short shas, times people can read, numbers with sensible precision. */

export const shortSha = (sha: string | null | undefined): string => (sha ?? '').slice(0, 7);

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const UNITS: readonly [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
];

export const timeAgo = (iso: string, now: number = Date.now()): string => {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return 'just now';
};

const absolute = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short' });
export const dateTime = (iso: string): string => absolute.format(new Date(iso));

const shortDate = new Intl.DateTimeFormat('en', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
export const shortDateTime = (iso: string): string => shortDate.format(new Date(iso));

export const percent = (value: number | null | undefined): string =>
  value === null || value === undefined ? '–' : `${(value * 100).toFixed(value < 0.1 ? 1 : 0)} %`;

export const millis = (value: number | null | undefined): string =>
  value === null || value === undefined
    ? '–'
    : value >= 10_000
      ? `${(value / 1000).toFixed(1)} s`
      : `${Math.round(value)} ms`;

export const decimal = (value: number | null | undefined, digits = 2): string =>
  value === null || value === undefined ? '–' : value.toFixed(digits);

export const integer = (value: number | null | undefined): string =>
  value === null || value === undefined ? '–' : value.toLocaleString('en');

export const versionLabel = (version: number | null | undefined): string =>
  version === null || version === undefined ? '–' : `v${version}`;
