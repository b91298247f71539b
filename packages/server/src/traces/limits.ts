/**
 * Ingestion limits, documented in docs/api.md. Fields with a shape (ids, names, output) reject the event
 * when over; free-form maps (variables, attributes) keep what fits and drop the rest, counting it.
 */
export const MAX_BATCH_EVENTS = 1000;
export const MAX_INGEST_BODY_BYTES = 5 * 1024 * 1024;
export const MAX_EVENT_ID_LENGTH = 128;
export const MAX_OUTPUT_LENGTH = 128 * 1024;
export const MAX_ERROR_LENGTH = 8 * 1024;
export const MAX_SHORT_TEXT = 200;

export interface MapLimits {
  /** Keys kept per object (the rest are dropped). */
  readonly maxKeys: number;
  readonly maxKeyLength: number;
  readonly maxStringLength: number;
  readonly maxArrayLength: number;
  /** Objects nested deeper than this are dropped. */
  readonly maxDepth: number;
  /** Budget in characters (keys and strings) for the whole map. */
  readonly maxTotalChars: number;
}

/** `variables`: the inputs the prompt was rendered with; nested JSON allowed. */
export const VARIABLE_LIMITS: MapLimits = {
  maxKeys: 64,
  maxKeyLength: 128,
  maxStringLength: 16 * 1024,
  maxArrayLength: 256,
  maxDepth: 6,
  maxTotalChars: 32 * 1024,
};

/** `attributes`: flat, OpenTelemetry-like (primitives and arrays of primitives). */
export const ATTRIBUTE_LIMITS: MapLimits = {
  maxKeys: 128,
  maxKeyLength: 256,
  maxStringLength: 4 * 1024,
  maxArrayLength: 64,
  maxDepth: 1,
  maxTotalChars: 16 * 1024,
};
