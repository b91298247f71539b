import type { AttributeValue, TraceInput } from './event.js';
import { newEventId } from './event.js';
import { activeSpan } from './otel.js';
import { promptLinkOf, type PromptLink, type ShadowTarget } from './prompt-link.js';
import { SHADOW, ShadowRunner, type ShadowOptions } from './shadow.js';
import { RECORD, type Recorder } from './tracer.js';

/**
 * `instrumentOpenAI(openai, client)`: wraps `openai.chat.completions.create` on that instance so each call
 * made with `prompt.toOpenAI(vars)` is recorded with the served sha, the variables, the output, model,
 * latency, tokens and errors (HTTP errors, timeouts, aborts). No dependency on the `openai` package: it
 * relies on the shapes of its v4–v6 clients, and degrades to recording the awaited result when they
 * differ. The call itself is untouched: same arguments, same returned object (an APIPromise keeps
 * `.withResponse()`), errors rethrown as they were.
 */

export interface InstrumentOpenAIOptions {
  /** Also record calls whose params did not come from `prompt.toOpenAI()` (without prompt info). Default false. */
  readonly recordCallsWithoutPrompt?: boolean;
  /** The `provider` recorded (default `openai`; e.g. `azure`, or a gateway's name). */
  readonly provider?: string;
  /**
   * Shadow rollouts: after a call whose prompt has a `shadow` candidate succeeds, the candidate is run on
   * a copy of it in the background (never streamed, never returned) and recorded as a shadow trace paired
   * with the call's. `false`: never. The bounds are the client's (createClient's `shadow` option); these
   * apply when the client given is not a promptops client.
   */
  readonly shadow?: ShadowOptions | false;
}

/** What the wrapper needs of an OpenAI client: `chat.completions.create`. */
export interface OpenAILike {
  readonly chat: { readonly completions: { create: (...args: never[]) => unknown } };
}

interface TraceTarget {
  trace(input: TraceInput): string;
}

interface State {
  client: TraceTarget;
  options: InstrumentOpenAIOptions;
  /** Used when the client has no runner of its own. */
  runner?: ShadowRunner;
}

/** The runner shadow calls go through: the promptops client's, else one of this instrumentation's. */
const shadowRunner = (state: State): ShadowRunner | undefined => {
  if (state.options.shadow === false) return undefined;
  const own = (state.client as { [SHADOW]?: ShadowRunner })[SHADOW];
  if (own instanceof ShadowRunner) return own;
  return (state.runner ??= new ShadowRunner(state.options.shadow ?? {}));
};

const INSTRUMENTED = Symbol.for('promptops.instrumentOpenAI');
const MAX_STREAM_TEXT = 128 * 1024 + 1; // the server keeps 128 KiB of output; no need to hold more

type Fn = (...args: unknown[]) => unknown;
type Obj = Record<PropertyKey, unknown>;

const isObject = (value: unknown): value is Obj => typeof value === 'object' && value !== null;
const isFunction = (value: unknown): value is Fn => typeof value === 'function';
const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const count = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

export const instrumentOpenAI = <T extends OpenAILike>(
  openai: T,
  client: TraceTarget,
  options: InstrumentOpenAIOptions = {},
): T => {
  const completions = openai.chat.completions as unknown as Obj;
  const existing = completions[INSTRUMENTED] as State | undefined;
  if (existing !== undefined) {
    // Instrumenting twice re-targets instead of recording every call twice.
    existing.client = client;
    existing.options = options;
    delete existing.runner;
    return openai;
  }
  const original = completions['create'];
  if (!isFunction(original)) throw new TypeError('instrumentOpenAI: openai.chat.completions.create is not a function');
  const state: State = { client, options };
  Object.defineProperty(completions, INSTRUMENTED, { value: state });
  completions['create'] = function create(this: unknown, ...args: unknown[]): unknown {
    return instrumentedCall(state, original, this, args);
  };
  return openai;
};

/** One call: records exactly once, whichever way it ends. */
const instrumentedCall = (state: State, original: Fn, self: unknown, args: unknown[]): unknown => {
  const params = args[0];
  const link = promptLinkOf(params);
  if (link === undefined && state.options.recordCallsWithoutPrompt !== true) return original.apply(self, args);

  const client = state.client;
  const span = activeSpan(); // the caller's span, before any await can lose the context
  const started = performance.now();
  const requestModel = isObject(params) ? text(params['model']) : undefined;
  const streaming = isObject(params) && params['stream'] === true;
  // OpenAI's `user` is the unit key, as the gateway takes it: the trace carries only its hash.
  const user = isObject(params) ? text(params['user']) : undefined;
  const base: TraceInput = {
    id: newEventId(),
    startedAt: Date.now(),
    provider: state.options.provider ?? 'openai',
    ...(link === undefined ? {} : { prompt: link.prompt, variables: link.variables }),
    ...(requestModel === undefined ? {} : { model: requestModel }),
    ...(user === undefined ? {} : { unitKey: user }),
  };
  const attributes: Record<string, AttributeValue> = { 'gen_ai.operation.name': 'chat' };
  if (requestModel !== undefined) attributes['gen_ai.request.model'] = requestModel;
  if (link !== undefined) attributes['promptops.source'] = link.prompt.source;
  if (streaming) attributes['promptops.stream'] = true;

  let recorded = false;
  const finish = (outcome: Partial<TraceInput>, extra: Record<string, AttributeValue> = {}): void => {
    if (recorded) return;
    recorded = true;
    const input: TraceInput = {
      ...base,
      ...outcome,
      latencyMs: performance.now() - started,
      attributes: { ...attributes, ...extra },
    };
    record(client, input, span);
    // A shadow rollout's copy: only of a call that succeeded (a failing provider gets no extra load).
    const shadow = link?.prompt.shadow;
    if (shadow !== undefined && shadow !== null && input.status !== 'error') {
      const runner = shadowRunner(state);
      runner?.submit(() => runShadow(state, original, self, params as Obj, link!, shadow, base.id!));
    }
  };
  // These run in promise callbacks we attach: a throw there would be an unhandled rejection in the app.
  const safely =
    <A extends unknown[]>(fn: (...args: A) => void) =>
    (...args: A): void => {
      try {
        fn(...args);
      } catch {
        // recording is best effort; the call's result is untouched
      }
    };
  const fail = safely((error: unknown) => finish(...describeError(error)));
  const succeed = safely((value: unknown) => {
    if (streaming && isObject(value)) observeStream(value, finish, fail, started);
    else finish(...fromCompletion(value, requestModel));
  });

  let result: unknown;
  try {
    result = original.apply(self, args);
  } catch (error) {
    fail(error);
    throw error;
  }
  observeResult(result, succeed, fail);
  return result;
};

const record = (client: TraceTarget, input: TraceInput, span: ReturnType<typeof activeSpan>): void => {
  const recorder = (client as Partial<Recorder>)[RECORD];
  if (isFunction(recorder)) (recorder as Recorder[typeof RECORD]).call(client, input, span);
  else client.trace(input);
};

/**
 * The candidate's copy of a call: the caller's request with the candidate's messages, model and
 * parameters (the baseline prompt's own parameters removed), not streamed; the provider's answer is
 * recorded as a shadow trace (`shadowOf` the call's trace) and never returned to anyone.
 */
const runShadow = async (
  state: State,
  original: Fn,
  self: unknown,
  params: Obj,
  link: PromptLink,
  shadow: ShadowTarget,
  baselineId: string,
): Promise<void> => {
  const baselineParams = (link.prompt as { content?: { config?: { params?: object } } }).content?.config?.params ?? {};
  const request: Obj = { ...params };
  for (const key of [...Object.keys(baselineParams), 'stream', 'stream_options']) delete request[key];
  Object.assign(request, shadow.toOpenAI(link.variables, link.options));
  const requestModel = text(request['model']);
  const started = performance.now();
  const base: TraceInput = {
    id: newEventId(),
    startedAt: Date.now(),
    provider: state.options.provider ?? 'openai',
    prompt: {
      name: shadow.name,
      version: shadow.version,
      sha: shadow.sha,
      label: shadow.label,
      variant: 'candidate',
      source: link.prompt.source,
      releaseSha: link.prompt.releaseSha,
      rolloutId: shadow.rolloutId,
    },
    variables: link.variables,
    shadowOf: baselineId,
    ...(requestModel === undefined ? {} : { model: requestModel }),
  };
  const attributes: Record<string, AttributeValue> = { 'gen_ai.operation.name': 'chat', 'promptops.shadow': true };
  if (requestModel !== undefined) attributes['gen_ai.request.model'] = requestModel;
  let outcome: Outcome;
  try {
    outcome = fromCompletion(await (original.call(self, request) as Promise<unknown>), requestModel);
  } catch (error) {
    outcome = describeError(error);
  }
  const [fields, extra] = outcome;
  const input: TraceInput = {
    ...base,
    ...fields,
    latencyMs: performance.now() - started,
    attributes: { ...attributes, ...extra },
  };
  record(state.client, input, undefined);
};

/**
 * Watches the returned value without changing it. An openai APIPromise parses lazily (asResponse()
 * users read the body themselves), so its `parse` is hooked rather than forcing a parse here; its
 * response promise reports failures however the result is consumed.
 */
const observeResult = (result: unknown, succeed: (value: unknown) => void, fail: (error: unknown) => void): void => {
  if (!isObject(result)) return succeed(result);
  const parse = result['parse'];
  const responsePromise = result['responsePromise'];
  if (isFunction(parse) && isObject(responsePromise) && isFunction(responsePromise['then'])) {
    hookApiPromise(result, succeed, fail);
    return;
  }
  if (isFunction(result['then'])) (result['then'] as Fn).call(result, succeed, fail);
  else succeed(result);
};

const hookApiPromise = (promise: Obj, succeed: (value: unknown) => void, fail: (error: unknown) => void): void => {
  let parsing = false;
  (promise['responsePromise'] as PromiseLike<unknown>).then(undefined, fail);
  const parse = promise['parse'] as Fn;
  promise['parse'] = function (this: unknown, ...args: unknown[]): unknown {
    const parsed = parse.apply(this, args);
    if (!parsing && isObject(parsed) && isFunction(parsed['then'])) {
      parsing = true;
      (parsed['then'] as Fn).call(parsed, succeed, fail);
    }
    return parsed;
  };
  const asResponse = promise['asResponse'];
  if (isFunction(asResponse)) {
    promise['asResponse'] = function (this: unknown, ...args: unknown[]): unknown {
      const response = asResponse.apply(this, args);
      // The raw Response, body unread (withResponse() parses first, so this is the raw-only path).
      if (!parsing && isObject(response) && isFunction(response['then'])) {
        (response['then'] as Fn).call(response, () => succeed({ choices: [] }), fail);
      }
      return response;
    };
  }
  const thenUnwrap = promise['_thenUnwrap'];
  if (isFunction(thenUnwrap)) {
    // openai's own helpers (e.g. chat.completions.parse) derive a promise from this one.
    promise['_thenUnwrap'] = function (this: unknown, ...args: unknown[]): unknown {
      const derived = thenUnwrap.apply(this, args);
      if (isObject(derived) && isFunction(derived['parse'])) hookApiPromise(derived, succeed, fail);
      return derived;
    };
  }
};

type Outcome = [Partial<TraceInput>, Record<string, AttributeValue>];

const fromCompletion = (value: unknown, requestModel: string | undefined): Outcome => {
  const completion = isObject(value) ? value : {};
  const choices = Array.isArray(completion['choices']) ? (completion['choices'] as unknown[]) : [];
  const first = choices[0];
  const message = isObject(first) && isObject(first['message']) ? first['message'] : undefined;
  let output: string | null = null;
  if (message !== undefined) {
    output = text(message['content']) ?? text(message['refusal']) ?? null;
    if (output === null && Array.isArray(message['tool_calls'])) output = JSON.stringify(message['tool_calls']);
  }
  const usage = isObject(completion['usage']) ? completion['usage'] : undefined;
  const model = text(completion['model']) ?? requestModel;
  const extra: Record<string, AttributeValue> = {};
  if (text(completion['model']) !== undefined) extra['gen_ai.response.model'] = completion['model'] as string;
  if (text(completion['id']) !== undefined) extra['gen_ai.response.id'] = completion['id'] as string;
  const reasons = choices.map((choice) => (isObject(choice) ? text(choice['finish_reason']) : undefined));
  if (reasons.some((reason) => reason !== undefined))
    extra['gen_ai.response.finish_reasons'] = reasons.map((r) => r ?? '');
  return [
    {
      output,
      status: 'ok',
      ...(model === undefined ? {} : { model }),
      ...(usage === undefined
        ? {}
        : {
            usage: {
              inputTokens: count(usage['prompt_tokens']) ?? null,
              outputTokens: count(usage['completion_tokens']) ?? null,
            },
          }),
    },
    extra,
  ];
};

const describeError = (error: unknown): Outcome => {
  const type = isObject(error) && isFunction(error['constructor']) ? (error['constructor'] as Fn).name : '';
  const message = error instanceof Error ? error.message : String(error);
  const extra: Record<string, AttributeValue> = {};
  if (type !== '') extra['error.type'] = type;
  const status = isObject(error) ? count(error['status']) : undefined;
  if (status !== undefined) extra['http.response.status_code'] = status;
  return [
    { status: 'error', error: type === '' || type === 'Error' ? message : `${type}: ${message}`, output: null },
    extra,
  ];
};

/**
 * A streamed completion is recorded when its iteration ends: the text of choice 0 concatenated, usage
 * when the request asked for it (`stream_options: { include_usage: true }`), an error if the stream
 * failed, `promptops.stream.incomplete` if the caller stopped early. A stream never iterated is not
 * recorded. openai's Stream reads through its `iterator` function (also for tee() and
 * toReadableStream()), so that is what is wrapped; else `Symbol.asyncIterator`.
 */
const observeStream = (
  stream: Obj,
  finish: (outcome: Partial<TraceInput>, extra?: Record<string, AttributeValue>) => void,
  fail: (error: unknown) => void,
  started: number,
): void => {
  const key: PropertyKey = isFunction(stream['iterator']) ? 'iterator' : Symbol.asyncIterator;
  const open = stream[key];
  if (!isFunction(open)) return finish({ output: null, status: 'ok' });
  let output = '';
  let model: string | undefined;
  let responseId: string | undefined;
  let usage: TraceInput['usage'];
  let firstChunkMs: number | undefined;
  const reasons: string[] = [];
  const absorb = (chunk: unknown): void => {
    if (!isObject(chunk)) return;
    firstChunkMs ??= performance.now() - started;
    model ??= text(chunk['model']);
    responseId ??= text(chunk['id']);
    const choices = Array.isArray(chunk['choices']) ? (chunk['choices'] as unknown[]) : [];
    const first = choices[0];
    if (isObject(first)) {
      const delta = isObject(first['delta']) ? first['delta'] : undefined;
      const piece = delta === undefined ? undefined : text(delta['content']);
      if (piece !== undefined && output.length < MAX_STREAM_TEXT) output += piece;
      const reason = text(first['finish_reason']);
      if (reason !== undefined) reasons.push(reason);
    }
    if (isObject(chunk['usage'])) {
      usage = {
        inputTokens: count(chunk['usage']['prompt_tokens']) ?? null,
        outputTokens: count(chunk['usage']['completion_tokens']) ?? null,
      };
    }
  };
  const end = (incomplete: boolean): void => {
    const controller = stream['controller'];
    const aborted = isObject(controller) && isObject(controller['signal']) && controller['signal']['aborted'] === true;
    const extra: Record<string, AttributeValue> = {};
    if (model !== undefined) extra['gen_ai.response.model'] = model;
    if (responseId !== undefined) extra['gen_ai.response.id'] = responseId;
    if (reasons.length > 0) extra['gen_ai.response.finish_reasons'] = reasons;
    if (firstChunkMs !== undefined) extra['promptops.stream.first_chunk_ms'] = Math.round(firstChunkMs);
    if (incomplete) extra['promptops.stream.incomplete'] = true;
    finish(
      {
        output: output === '' ? null : output,
        ...(model === undefined ? {} : { model }),
        ...(usage === undefined ? {} : { usage }),
        // The caller aborted the stream (controller.abort()): openai ends the iteration quietly.
        ...(aborted && !incomplete
          ? { status: 'error' as const, error: 'the stream was aborted' }
          : { status: 'ok' as const }),
      },
      extra,
    );
  };
  stream[key] = function (this: unknown, ...args: unknown[]): AsyncIterator<unknown> {
    const inner = open.apply(this, args) as AsyncIterator<unknown>;
    const wrapped: AsyncIterableIterator<unknown> = {
      async next(...nextArgs: [] | [unknown]) {
        try {
          const result = await inner.next(...nextArgs);
          if (result.done === true) end(false);
          else absorb(result.value);
          return result;
        } catch (error) {
          fail(error);
          throw error;
        }
      },
      async return(value?: unknown) {
        end(true);
        return isFunction(inner.return) ? inner.return(value) : { done: true, value };
      },
      async throw(error?: unknown) {
        fail(error);
        if (isFunction(inner.throw)) return inner.throw(error);
        throw error;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    return wrapped;
  };
};
