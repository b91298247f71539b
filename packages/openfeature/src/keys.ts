import { ParseError } from '@openfeature/server-sdk';

/** A flag key promptops answers: `prompt:NAME` (an object) or `rollout:ID` (a boolean). */
export type FlagKey =
  { readonly kind: 'prompt'; readonly name: string } | { readonly kind: 'rollout'; readonly id: string };

const PROMPT = 'prompt:';
const ROLLOUT = 'rollout:';
// A prompt name or name@ref, or a rollout id: printable, no spaces.
const VALID = /^[^\s:]+$/;

const parsed = new Map<string, FlagKey>();

/** Parses (and remembers) a flag key; a key of another shape is a PARSE_ERROR naming the expected forms. */
export const parseFlagKey = (flagKey: string): FlagKey => {
  const hit = parsed.get(flagKey);
  if (hit !== undefined) return hit;
  let key: FlagKey | undefined;
  if (flagKey.startsWith(PROMPT)) {
    const name = flagKey.slice(PROMPT.length);
    if (VALID.test(name)) key = { kind: 'prompt', name };
  } else if (flagKey.startsWith(ROLLOUT)) {
    const id = flagKey.slice(ROLLOUT.length);
    if (VALID.test(id)) key = { kind: 'rollout', id };
  }
  if (key === undefined) {
    throw new ParseError(
      `flag key ${JSON.stringify(flagKey)} is not one promptops answers: use 'prompt:NAME' (getObjectValue) or 'rollout:ID' (getBooleanValue)`,
    );
  }
  if (parsed.size < 10_000) parsed.set(flagKey, key);
  return key;
};
