import pc from 'picocolors';
import { shortSha } from '@promptops/core';
import { colorEnabled, type CliIo } from './io.js';

export type Colors = ReturnType<typeof pc.createColors>;

/**
 * Human or JSON output. Results go to stdout; progress and notes go to stderr, so `--json` output and
 * pipes stay clean. Colors only on a terminal without NO_COLOR.
 */
export interface Output {
  readonly json: boolean;
  readonly colors: Colors;
  /** A line of human output (ignored with --json). */
  line(text?: string): void;
  /** The one JSON document of a --json run. */
  data(value: unknown): void;
  /** Aligned columns of human output; a row with fewer cells ends in one that spans the rest. */
  table(rows: readonly (readonly string[])[], header?: readonly string[]): void;
  /** An informational line on stderr (also with --json: it never pollutes stdout). */
  note(text: string): void;
  /** A transient status line on stderr, only on a terminal; `done()` clears it. */
  progress(text: string): void;
  done(): void;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
const visibleLength = (text: string): number => text.replace(ANSI, '').length;

export const createOutput = (io: CliIo, json: boolean): Output => {
  const colors = pc.createColors(!json && colorEnabled(io.stdout, io.env));
  const progressOn = io.stderr.isTTY === true && io.env.CI === undefined;
  let progressShown = false;
  const clear = (): void => {
    if (progressShown) io.stderr.write('\r\u001b[2K');
    progressShown = false;
  };
  return {
    json,
    colors,
    line(text = '') {
      if (!json) io.stdout.write(`${text}\n`);
    },
    data(value) {
      io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    table(rows, header) {
      if (json) return;
      const all = header === undefined ? rows : [header.map((cell) => colors.dim(cell)), ...rows];
      const widths: number[] = [];
      const columns = Math.max(0, ...all.map((row) => row.length));
      for (const row of all) {
        row.forEach((cell, i) => {
          // A short row's last cell (a note among the rows) spans the rest: it widens no column.
          if (row.length < columns && i === row.length - 1) return;
          widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell));
        });
      }
      for (const row of all) {
        const cells = row.map((cell, i) =>
          i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visibleLength(cell)),
        );
        io.stdout.write(`${cells.join('  ').trimEnd()}\n`);
      }
    },
    note(text) {
      clear();
      io.stderr.write(`${text}\n`);
    },
    progress(text) {
      if (!progressOn) return;
      const width = (io.stderr.columns ?? 80) - 1;
      io.stderr.write(`\r\u001b[2K${text.slice(0, width)}`);
      progressShown = true;
    },
    done: clear,
  };
};

/** `v18 (b1d7e4a)`, or `(none)` for a label that pointed nowhere. */
export const versionRef = (version: number | null, sha: string | null, colors?: Colors): string =>
  version === null || sha === null
    ? '(none)'
    : `v${version} (${colors ? colors.yellow(shortSha(sha)) : shortSha(sha)})`;

/** `2025-11-25 23:16:05Z`: compact, sortable and unambiguous (UTC). */
export const formatTime = (iso: string): string => {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
};

/** A value as it reads in a field change (`0.2`, `"gpt-4o"`), or `(none)` when the field is absent. */
export const formatValue = (value: unknown): string => (value === undefined ? '(none)' : JSON.stringify(value));
