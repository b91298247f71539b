import type { DriftRequest } from '../../api/types';

/** The "compare versions" form's fields, as typed. */
export interface DriftForm {
  readonly prompt: string;
  readonly a: string;
  readonly b: string;
  readonly source: 'offline' | 'live';
  readonly suite: string;
  readonly window: string;
}

export type DriftFormResult =
  | { readonly ok: true; readonly body: DriftRequest }
  | { readonly ok: false; readonly field: 'a' | 'b' | 'suite' | 'window'; readonly message: string };

const DURATION = /^\d{1,6}[smhdw]$/;

/** `17` means v17; a label or a sha is passed as the ref it is. */
const refOf = (value: string): string => (/^\d+$/.test(value) ? `v${value}` : value);

/** The body of `POST /api/v1/drift`, or the field to fix (the server checks again and has the last word). */
export const driftRequestBody = (form: DriftForm): DriftFormResult => {
  const a = refOf(form.a.trim());
  const b = refOf(form.b.trim());
  if (a === '') return { ok: false, field: 'a', message: 'Choose version A.' };
  if (b === '') return { ok: false, field: 'b', message: 'Choose version B.' };
  if (a === b) return { ok: false, field: 'b', message: 'A and B are the same version: choose two.' };
  const base = { prompt: form.prompt, a, b };
  if (form.source === 'offline') {
    const suite = form.suite.trim();
    if (suite === '') {
      return { ok: false, field: 'suite', message: 'An offline report pairs the runs of a suite: choose one.' };
    }
    return { ok: true, body: { ...base, source: 'offline', suite } };
  }
  const window = form.window.trim() === '' ? '24h' : form.window.trim();
  if (!DURATION.test(window)) {
    return { ok: false, field: 'window', message: 'The window is a duration such as 24h, 7d or 90m.' };
  }
  return { ok: true, body: { ...base, source: 'live', window } };
};
