import type { DriftEmbeddingsInput, DriftEmbeddingsSkipped, DriftPair, DriftSample } from '@promptops/core';
import { defaultHttpDeps, postJson, type HttpDeps, type RetryPolicy } from '@promptops/evals';

/**
 * Embeddings for drift reports from an OpenAI-compatible `POST {url}/embeddings` (OpenAI, vLLM, Ollama,
 * llama.cpp, LM Studio, TEI…), asked at report time in batches under one deadline. None by default: the
 * server asks nothing of any model unless PROMPTOPS_EMBEDDINGS_URL names one. A failure never fails the
 * report: it becomes the report's note (the key redacted).
 */

export const EMBEDDINGS_URL_ENV = 'PROMPTOPS_EMBEDDINGS_URL';
export const EMBEDDINGS_MODEL_ENV = 'PROMPTOPS_EMBEDDINGS_MODEL';
export const EMBEDDINGS_KEY_ENV = 'PROMPTOPS_EMBEDDINGS_API_KEY';
export const EMBEDDINGS_TIMEOUT_ENV = 'PROMPTOPS_EMBEDDINGS_TIMEOUT_MS';

export interface EmbeddingsSettings {
  /** The API's base URL, as OPENAI_BASE_URL: `https://api.openai.com/v1`, `http://localhost:11434/v1`. */
  readonly url: string;
  readonly model: string;
  /** Sent as a bearer token; a local server without auth needs none. */
  readonly apiKey?: string;
  /** The whole report's embedding calls, every batch and retry included. Default 30 s. */
  readonly timeoutMs?: number;
  /** Texts per request. Default 64. */
  readonly batchSize?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_BATCH = 64;

/** The four variables, checked: a URL without a model, or a bad timeout, refuses the start. */
export const embeddingsSettingsFrom = (env: NodeJS.ProcessEnv): EmbeddingsSettings | undefined => {
  const url = env[EMBEDDINGS_URL_ENV]?.trim();
  if (url === undefined || url === '') return undefined;
  if (!/^https?:\/\/\S+$/.test(url))
    throw new Error(
      `${EMBEDDINGS_URL_ENV} must be an http(s) base URL such as http://localhost:11434/v1; got '${url}'`,
    );
  const model = env[EMBEDDINGS_MODEL_ENV]?.trim();
  if (model === undefined || model === '')
    throw new Error(
      `${EMBEDDINGS_MODEL_ENV} must name the embedding model (e.g. text-embedding-3-small) when ${EMBEDDINGS_URL_ENV} is set`,
    );
  const rawTimeout = env[EMBEDDINGS_TIMEOUT_ENV];
  const timeoutMs = rawTimeout === undefined || rawTimeout === '' ? undefined : Number(rawTimeout);
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs >= 100 && timeoutMs <= 600_000))
    throw new Error(`${EMBEDDINGS_TIMEOUT_ENV} must be whole milliseconds from 100 to 600000; got '${rawTimeout}'`);
  const apiKey = env[EMBEDDINGS_KEY_ENV];
  return {
    url,
    model,
    ...(apiKey === undefined || apiKey === '' ? {} : { apiKey }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  };
};

/** Embeds texts, one vector per text in order; identical texts are asked once. Throws on any failure. */
export const embedTexts = async (
  settings: EmbeddingsSettings,
  texts: readonly string[],
  deps: HttpDeps = defaultHttpDeps(),
): Promise<number[][]> => {
  const base = settings.url.replace(/\/+$/, '');
  const timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const batchSize = settings.batchSize ?? DEFAULT_BATCH;
  const what = `embeddings (${settings.model}) at ${base}`;
  const unique = [...new Set(texts)];
  const deadline = AbortSignal.timeout(timeoutMs);
  // One retry, quickly: the deadline bounds the whole report.
  const policy: RetryPolicy = {
    timeoutMs,
    maxRetries: 1,
    baseDelayMs: 200,
    maxDelayMs: 1000,
    maxRetryAfterMs: 2000,
  };
  const vectors = new Map<string, number[]>();
  for (let start = 0; start < unique.length; start += batchSize) {
    const batch = unique.slice(start, start + batchSize);
    if (deadline.aborted) throw new Error(`${what}: timed out after ${timeoutMs} ms`);
    const body = (await postJson(
      {
        what,
        url: `${base}/embeddings`,
        headers: settings.apiKey === undefined ? {} : { authorization: `Bearer ${settings.apiKey}` },
        body: { model: settings.model, input: batch },
        secrets: settings.apiKey === undefined ? [] : [settings.apiKey],
        signal: deadline,
      },
      policy,
      deps,
    ).catch((error: unknown) => {
      throw deadline.aborted ? new Error(`${what}: timed out after ${timeoutMs} ms`) : error;
    })) as { data?: { embedding?: unknown; index?: unknown }[] };
    const data = body.data;
    if (!Array.isArray(data) || data.length !== batch.length)
      throw new Error(`${what}: the answer's data is not a list of ${batch.length} embeddings`);
    const ordered = [...data].sort((x, y) => Number(x.index ?? 0) - Number(y.index ?? 0));
    ordered.forEach((item, i) => {
      const v = item.embedding;
      if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x)))
        throw new Error(`${what}: data[${i}].embedding is not a list of numbers (ask for encoding_format float)`);
      vectors.set(batch[i]!, v as number[]);
    });
  }
  return texts.map((text) => vectors.get(text)!);
};

/** The report's embeddings of pairs or samples, or the note saying why there are none. */
export const driftEmbeddings = async (
  settings: EmbeddingsSettings,
  outputs: {
    readonly pairs?: readonly DriftPair[];
    readonly samples?: { a: readonly DriftSample[]; b: readonly DriftSample[] };
  },
  deps?: HttpDeps,
): Promise<DriftEmbeddingsInput | DriftEmbeddingsSkipped> => {
  const a = outputs.pairs?.map((p) => p.a.output) ?? outputs.samples!.a.map((s) => s.output);
  const b = outputs.pairs?.map((p) => p.b.output) ?? outputs.samples!.b.map((s) => s.output);
  try {
    const vectors = await embedTexts(settings, [...a, ...b], deps);
    const dims = new Set(vectors.map((v) => v.length));
    if (dims.size > 1) throw new Error(`embeddings (${settings.model}): vectors of different lengths`);
    return { model: settings.model, a: vectors.slice(0, a.length), b: vectors.slice(a.length) };
  } catch (error) {
    return { model: settings.model, skipped: error instanceof Error ? error.message : String(error) };
  }
};
