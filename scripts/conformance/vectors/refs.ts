import { outcome, parseNameRef, parseRef } from './common.js';

const FULL_SHA = '15012cf7382d313dcd4df977000869ef8b649d3693f0b7310b346e069298b8e6';

/** [vector name, NAME@REF text, the ref a bare name gets (as the SDK's get gives `production`)]. */
const NAME_REFS: readonly (readonly [string, string, string | undefined])[] = [
  ['a version', 'customer_support_greeter@v17', undefined],
  ['the largest version (9 digits)', 'greeter@v999999999', undefined],
  ['a sha prefix of 7', 'greeter@15012cf', undefined],
  ['a full sha', `greeter@${FULL_SHA}`, undefined],
  ['an all-digit sha prefix', 'greeter@1234567', undefined],
  ['a label', 'greeter@production', undefined],
  ['a label with digits, "_" and "-"', 'greeter@prod-eu_2', undefined],
  ['a label shaped like a short hex word (6 characters)', 'greeter@abcdef', undefined],
  ['a label starting with v but not a version', 'greeter@v17a', undefined],
  ['a folder name', 'support/billing/greeter@v2', undefined],
  ['a name with dots, dashes and underscores', 'a.b-c_d@latest', undefined],
  ['a bare name gets the default ref', 'greeter', 'production'],
  ['a bare name with a version default', 'greeter', 'v3'],
  ['the ref is trimmed', 'greeter@ v17 ', undefined],
  ['the last @ separates the ref', 'greeter@v1@v2', undefined],
  ['a bare name without a default', 'greeter', undefined],
  ['an empty ref', 'greeter@', undefined],
  ['an empty ref is not replaced by the default', 'greeter@', 'production'],
  ['an empty name', '@v17', undefined],
  ['an upper-case name', 'Greeter@v17', undefined],
  ['a name with a space', ' greeter@v17', undefined],
  ['a name with a trailing slash', 'greeter/@v17', undefined],
  ['v0 is not a version', 'greeter@v0', undefined],
  ['a version with a leading zero', 'greeter@v017', undefined],
  ['a version of 10 digits', 'greeter@v1234567890', undefined],
  ['an upper-case V', 'greeter@V17', undefined],
  ['an upper-case sha', 'greeter@15012CF', undefined],
  ['a 6-digit number', 'greeter@123456', undefined],
  ['65 hex characters', `greeter@${FULL_SHA}a`, undefined],
  ['a label with an upper-case letter', 'greeter@Production', undefined],
  ['a label with a dot', 'greeter@prod.eu', undefined],
  ['a label of 64 characters', `greeter@p${'x'.repeat(63)}`, undefined],
  ['a label of 63 characters', `greeter@p${'x'.repeat(62)}`, undefined],
];

/** Refs alone (after the @), as parseRef reads them. */
const REFS: readonly (readonly [string, string])[] = [
  ['v1', 'v1'],
  ['sha prefix', 'abcdef0'],
  ['label', 'staging'],
  ['latest', 'latest'],
  ['surrounding whitespace', '\t v2 \n'],
  ['Unicode whitespace is trimmed too (JavaScript String.prototype.trim)', '\u00a0\ufeffv3\u3000\u2029'],
  ['a zero-width space is not whitespace', '\u200bv3'],
  ['empty', ''],
  ['v', 'v'],
  ['v-1', 'v-1'],
  ['a label starting with a digit', '1abc'],
  ['a label starting with "_"', '_x'],
];

export const REFS_FILE = () => ({
  description:
    'Ref parsing (packages/core/src/refs.ts). `nameRefs`: parseNameRef(input, defaultRef), where defaultRef (absent: none) is the ref a bare name takes; the name is everything before the last "@". `refs`: parseRef(input). `expected` is { name, ref } or the ref alone, a ref being { kind: "version", version } | { kind: "sha", prefix } | { kind: "label", label }; errors give the PromptopsError code (invalid_name, missing_ref, invalid_ref).',
  nameRefs: NAME_REFS.map(([name, input, defaultRef]) => {
    const result = outcome(() => parseNameRef(input, defaultRef));
    return {
      name,
      input,
      ...(defaultRef === undefined ? {} : { defaultRef }),
      ...(result.error === undefined ? { expected: result.value } : { error: result.error }),
    };
  }),
  refs: REFS.map(([name, input]) => {
    const result = outcome(() => parseRef(input));
    return { name, input, ...(result.error === undefined ? { expected: result.value } : { error: result.error }) };
  }),
});
