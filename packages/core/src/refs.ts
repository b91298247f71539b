import { PromptopsError } from './errors.js';
import { PROMPT_NAME_PATTERN } from './schema.js';

/**
 * A ref names a version: `v17`, a sha or a unique prefix of at least 7 hex characters, or a label.
 * Label names are chosen so they can never be read as the other two.
 */
export type Ref =
  | { readonly kind: 'version'; readonly version: number }
  | { readonly kind: 'sha'; readonly prefix: string }
  | { readonly kind: 'label'; readonly label: string };

export const MIN_SHA_PREFIX = 7;
const VERSION_REF = /^v([1-9][0-9]{0,8})$/;
/** Anything shaped like a version (`v0`, `v007`, `v1234567890`): never a label, even when not a valid version. */
const VERSION_LIKE = /^v[0-9]+$/;
const SHA_REF = /^[0-9a-f]{7,64}$/;
export const LABEL_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;
export const LATEST_LABEL = 'latest';

export const parseRef = (text: string): Ref => {
  const ref = text.trim();
  const version = VERSION_REF.exec(ref);
  if (version) return { kind: 'version', version: Number(version[1]) };
  if (SHA_REF.test(ref)) return { kind: 'sha', prefix: ref };
  if (VERSION_LIKE.test(ref)) {
    throw new PromptopsError('invalid', 'invalid_ref', `"${text}" is not a version: versions are v1, v2, ...`, {
      fix: 'use a version like v17 (no leading zeros), a sha or a prefix of at least 7 hex characters, or a label',
    });
  }
  if (LABEL_PATTERN.test(ref)) return { kind: 'label', label: ref };
  throw new PromptopsError('invalid', 'invalid_ref', `"${text}" is not a ref`, {
    fix: `use a version like v17, a sha or a prefix of at least ${MIN_SHA_PREFIX} hex characters, or a label like production`,
  });
};

export const formatRef = (ref: Ref): string =>
  ref.kind === 'version' ? `v${ref.version}` : ref.kind === 'sha' ? ref.prefix : ref.label;

/** Validates a label name for moving: it must not read as a version or a sha. */
export const assertLabelName = (label: string): void => {
  if (!LABEL_PATTERN.test(label) || VERSION_LIKE.test(label) || SHA_REF.test(label)) {
    throw new PromptopsError('invalid', 'invalid_label', `"${label}" is not a valid label name`, {
      fix: 'a label is lowercase letters, digits, "_" and "-", starts with a letter, and does not look like a version (v17) or a sha',
    });
  }
};

/** `NAME@REF` as used on the command line and in the SDK; the ref defaults to `fallbackRef`. */
export const parseNameRef = (text: string, fallbackRef?: string): { name: string; ref: Ref } => {
  const at = text.lastIndexOf('@');
  const name = at === -1 ? text : text.slice(0, at);
  const refText = at === -1 ? fallbackRef : text.slice(at + 1);
  if (!PROMPT_NAME_PATTERN.test(name)) {
    throw new PromptopsError('invalid', 'invalid_name', `"${name}" is not a prompt name`, {
      fix: 'use lowercase letters, digits, "_", "." and "-", with "/" between folders, e.g. support/greeter@production',
    });
  }
  if (refText === undefined || refText === '') {
    throw new PromptopsError('invalid', 'missing_ref', `"${text}" names no version`, {
      fix: 'write NAME@v17, NAME@<sha> or NAME@production',
    });
  }
  return { name, ref: parseRef(refText) };
};
