import { parse as parseCsv } from 'csv-parse/sync';

/**
 * Datasets: case rows kept outside the suite file, as JSON Lines or CSV. The caller reads the file (core
 * does no I/O); this turns its text into raw rows, each with where it came from for error messages.
 *
 * - JSONL: one JSON object per non-empty line. An object with `vars` is a case
 *   (`{ id?, description?, vars, assert?, threshold? }`); any other object is the case's variables.
 * - CSV: a header row; each column is a variable, except promptfoo's special columns `__id`,
 *   `__description` and `__expected` (an assertion in short form: `contains: Paris`, or a plain value
 *   meaning `equals`). Values are strings.
 */

export interface DatasetRow {
  /** `data/cases.jsonl#3`: the file and the 1-based row (line for JSONL, data row for CSV). */
  readonly origin: string;
  readonly row: number;
  readonly value: unknown;
}

export class DatasetError extends Error {
  readonly origin: string;
  constructor(origin: string, message: string) {
    super(message);
    this.origin = origin;
  }
}

export const datasetFormat = (path: string): 'jsonl' | 'csv' | undefined =>
  /\.jsonl$/i.test(path) ? 'jsonl' : /\.csv$/i.test(path) ? 'csv' : undefined;

const parseJsonl = (path: string, text: string): DatasetRow[] => {
  const rows: DatasetRow[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '') return;
    const origin = `${path}#${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line) as unknown;
    } catch (error) {
      throw new DatasetError(
        origin,
        `line ${index + 1} is not JSON: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new DatasetError(origin, `line ${index + 1} must be a JSON object (a case, or its variables)`);
    }
    rows.push({ origin, row: index + 1, value });
  });
  return rows;
};

const EXPECTED = /^(not-)?([a-z-]+):\s?([\s\S]*)$/;

/** `contains: Paris` -> { type: contains, value: Paris }; anything else -> equals. */
export const expectedToAssertion = (text: string, knownTypes: readonly string[]): Record<string, unknown> => {
  const match = EXPECTED.exec(text);
  if (match !== null) {
    const type = `${match[1] ?? ''}${match[2] ?? ''}`;
    if (knownTypes.includes(type)) {
      const value = match[3] ?? '';
      return type === 'is-json' && value.trim() === '' ? { type } : { type, value };
    }
  }
  return { type: 'equals', value: text };
};

const parseCsvRows = (path: string, text: string, knownTypes: readonly string[]): DatasetRow[] => {
  let records: Record<string, string>[];
  try {
    records = parseCsv(text, { columns: true, skip_empty_lines: true, bom: true }) as Record<string, string>[];
  } catch (error) {
    throw new DatasetError(path, `not valid CSV: ${error instanceof Error ? error.message : String(error)}`);
  }
  return records.map((record, index) => {
    const vars: Record<string, unknown> = {};
    const assert: Record<string, unknown>[] = [];
    let id: string | undefined;
    let description: string | undefined;
    for (const [column, cell] of Object.entries(record)) {
      if (column === '__id') id = cell === '' ? undefined : cell;
      else if (column === '__description') description = cell;
      else if (/^__expected\d*$/.test(column)) {
        if (cell !== '') assert.push(expectedToAssertion(cell, knownTypes));
      } else vars[column] = cell;
    }
    return {
      origin: `${path}#${index + 1}`,
      row: index + 1,
      value: {
        ...(id === undefined ? {} : { id }),
        ...(description === undefined ? {} : { description }),
        vars,
        ...(assert.length === 0 ? {} : { assert }),
      },
    };
  });
};

export const parseDataset = (path: string, text: string, knownTypes: readonly string[]): DatasetRow[] => {
  const format = datasetFormat(path);
  if (format === 'jsonl') return parseJsonl(path, text);
  if (format === 'csv') return parseCsvRows(path, text, knownTypes);
  throw new DatasetError(path, 'a dataset is a .jsonl or .csv file');
};
