import { PromptopsError } from '@promptops/core';

/** A drift request's field that is missing, out of place or wrong: 400 naming it and the fix. */
export const invalid = (path: string, message: string, fix: string): PromptopsError =>
  new PromptopsError('invalid', 'invalid_request', `${path} ${message}`, { fix, issues: [{ path, message }] });
