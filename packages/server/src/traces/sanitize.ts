import type { MapLimits } from './limits.js';

/**
 * Copies an untrusted JSON object into null-prototype objects within limits. Keys that could reach a
 * prototype (`__proto__`, `constructor`, `prototype`), over-long keys and values, anything nested too
 * deep and whatever exceeds the budget are dropped and counted, never stored: a hostile payload can
 * neither pollute an object nor grow what the server keeps.
 */

const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export type SafeValue = string | number | boolean | null | SafeValue[] | SafeMap;
export interface SafeMap {
  [key: string]: SafeValue;
}

export interface Sanitized {
  readonly value: SafeMap;
  readonly dropped: number;
}

interface Budget {
  chars: number;
  dropped: number;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const copyValue = (value: unknown, limits: MapLimits, depth: number, budget: Budget): SafeValue | undefined => {
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string') {
    if (value.length > limits.maxStringLength || value.length > budget.chars) return undefined;
    budget.chars -= value.length;
    return value;
  }
  if (Array.isArray(value)) {
    // Arrays of primitives are one attribute value; deeper arrays count as nesting.
    const out: SafeValue[] = [];
    const kept = Math.min(value.length, limits.maxArrayLength);
    budget.dropped += value.length - kept;
    for (let i = 0; i < kept; i += 1) {
      const item: unknown = value[i];
      if (typeof item === 'object' && item !== null && depth >= limits.maxDepth) {
        budget.dropped += 1;
        continue;
      }
      const copied = copyValue(item, limits, depth + 1, budget);
      if (copied === undefined) budget.dropped += 1;
      else out.push(copied);
    }
    return out;
  }
  if (isPlainObject(value)) {
    if (depth >= limits.maxDepth) return undefined;
    return copyObject(value, limits, depth + 1, budget);
  }
  return undefined;
};

const copyObject = (input: Record<string, unknown>, limits: MapLimits, depth: number, budget: Budget): SafeMap => {
  const out = Object.create(null) as SafeMap;
  let kept = 0;
  for (const key of Object.keys(input)) {
    if (
      kept >= limits.maxKeys ||
      FORBIDDEN_KEYS.has(key) ||
      key.length > limits.maxKeyLength ||
      key.length > budget.chars
    ) {
      budget.dropped += 1;
      continue;
    }
    const copied = copyValue(input[key], limits, depth, budget);
    if (copied === undefined) {
      budget.dropped += 1;
      continue;
    }
    budget.chars -= key.length;
    out[key] = copied;
    kept += 1;
  }
  return out;
};

/** `input` must be a plain object (anything else yields an empty map and one drop). */
export const sanitizeMap = (input: unknown, limits: MapLimits): Sanitized => {
  const budget: Budget = { chars: limits.maxTotalChars, dropped: 0 };
  if (!isPlainObject(input)) return { value: Object.create(null) as SafeMap, dropped: input === undefined ? 0 : 1 };
  const value = copyObject(input, limits, 1, budget);
  return { value, dropped: budget.dropped };
};

/** Same limits for attributes that arrive as an ordered list of pairs (OTLP). */
export const sanitizeEntries = (entries: Iterable<readonly [string, unknown]>, limits: MapLimits): Sanitized => {
  const budget: Budget = { chars: limits.maxTotalChars, dropped: 0 };
  const holder = Object.create(null) as Record<string, unknown>;
  // A Map keeps hostile keys as data; copyObject then drops them.
  const map = new Map<string, unknown>(entries);
  for (const [key, value] of map) {
    if (FORBIDDEN_KEYS.has(key)) {
      budget.dropped += 1;
      continue;
    }
    holder[key] = value;
  }
  const value = copyObject(holder, limits, 1, budget);
  return { value, dropped: budget.dropped };
};
