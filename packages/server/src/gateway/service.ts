import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import {
  isPromptopsError,
  renderPrompt,
  rolloutUnitHash,
  type PromptContent,
  type Resolution,
  type ShadowTarget,
} from '@promptops/core';
import { CONNECTION_PARAMS } from '@promptops/evals';
import type { Actor } from '../context.js';
import { summarizeAnswer, type AnswerSummary } from './answer.js';
import type { TraceRecorder } from './recorder.js';
import { parseGatewayRequest, type GatewayRequest } from './request.js';
import type { GatewayResolution, GatewayResolver } from './resolve.js';
import type { ShadowRunner } from './shadow.js';
import type { Upstream, UpstreamAnswer } from './upstream.js';

/**
 * One gateway call: read the request, resolve the prompt (with its rollout arm), render it, call the
 * provider's upstream and hand its answer back as bytes; after the answer ends, record the trace and,
 * for a shadow rollout, run the candidate on a copy of the call in the background.
 */

/** Bytes of an answer kept to read its output and usage for the trace; the caller always gets all. */
const MAX_OBSERVED_BYTES = 4 * 1024 * 1024;
const MAX_OUTPUT_CHARS = 128 * 1024;
const MAX_ERROR_CHARS = 8 * 1024;

export interface GatewayAnswer {
  readonly status: number;
  /** Ours (X-Promptops-*) and the upstream's passed ones; the overhead header is the route's. */
  readonly headers: Readonly<Record<string, string>>;
  /** A JSON answer whole, or an SSE stream as it flows. */
  readonly body: Readable | Buffer;
  /** Milliseconds from sending the upstream request to its response headers (a JSON answer: to its end). */
  readonly upstreamMs: number;
}

interface Call {
  readonly actor: Actor;
  readonly eventId: string;
  readonly traceId: string;
  readonly startedAt: number;
  readonly started: number;
  readonly request: GatewayRequest;
  readonly served: GatewayResolution;
}

export interface GatewayDeps {
  readonly resolve: GatewayResolver;
  readonly upstreamFor: (provider: string | undefined) => Upstream;
  readonly recorder: TraceRecorder;
  readonly shadows: ShadowRunner;
  readonly now?: () => number;
}

const truncate = (text: string | null, max: number): string | undefined =>
  text === null ? undefined : text.length > max ? text.slice(0, max) : text;

/** A JSON answer's bytes; a stream that fails (the upstream or the caller went away) fails the call. */
const readWhole = async (body: Readable, signal: AbortSignal): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of body) {
    chunks.push(chunk as Buffer);
    if (signal.aborted) break;
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
};

/** The upstream body: the prompt's params, then the caller's fields over them, the prompt's model and messages. */
const upstreamBody = (
  content: PromptContent,
  request: GatewayRequest,
  variables: Readonly<Record<string, unknown>>,
) => {
  const rendered = renderPrompt(content, variables);
  const messages = [
    ...(rendered.type === 'text' ? [{ role: 'user', content: rendered.text }] : rendered.messages),
    ...request.messages,
  ];
  const params = Object.fromEntries(
    Object.entries(content.config.params).filter(([key]) => !(CONNECTION_PARAMS as readonly string[]).includes(key)),
  );
  const json: Record<string, unknown> = {
    ...params,
    ...request.fields,
    ...(content.config.model === undefined ? {} : { model: content.config.model }),
    messages,
  };
  return { json, bytes: Buffer.from(JSON.stringify(json)) };
};

/** The override's sha, an attribute: a trace has fields for the tenant and effective sha, not for it. */
const tenantAttributes = (served: GatewayResolution): Record<string, string> =>
  served.tenant?.overrideSha == null ? {} : { 'promptops.override_sha': served.tenant.overrideSha };

/** Answer headers naming the tenant and what it was served (`X-Promptops-Sha` stays the base version's). */
const tenantHeaders = (served: GatewayResolution): Record<string, string> =>
  served.tenant === null
    ? {}
    : {
        'x-promptops-tenant': served.tenant.tenant,
        'x-promptops-effective-sha': served.tenant.sha,
        ...(served.tenant.overrideSha === null ? {} : { 'x-promptops-override-sha': served.tenant.overrideSha }),
      };

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

export const createGatewayService = (deps: GatewayDeps) => {
  const now = deps.now ?? Date.now;
  /** Answers sent whose trace (and shadow copy) is still to be handed on. */
  const finishing = new Set<Promise<void>>();

  const traceEvent = (
    call: Call,
    target: { version: number; sha: string; content: PromptContent },
    arm: { rolloutId: string | null; arm: string },
    outcome: { latencyMs: number; summary?: AnswerSummary; error?: string; stream: boolean },
    extra: Record<string, unknown> = {},
  ): object => {
    const { summary } = outcome;
    const error = outcome.error ?? summary?.error ?? null;
    return {
      id: extra['id'] ?? call.eventId,
      traceId: call.traceId,
      prompt: {
        name: call.served.name,
        version: target.version,
        sha: target.sha,
        ...(call.served.tenant === null || target.sha !== call.served.sha
          ? {}
          : { effectiveSha: call.served.tenant.sha }),
      },
      ...(call.served.tenant === null ? {} : { tenant: call.served.tenant.tenant }),
      ...(call.served.label === null ? {} : { label: call.served.label }),
      ...(arm.rolloutId === null
        ? {}
        : {
            rollout: {
              id: arm.rolloutId,
              arm: arm.arm,
              // The unit's hash, never its key: the SRM check counts units by it.
              ...(call.request.unitKey === null
                ? {}
                : { unit: rolloutUnitHash(arm.rolloutId, call.request.unitKey, sha256) }),
            },
          }),
      ...(Object.keys(call.request.variables).length === 0 ? {} : { variables: call.request.variables }),
      ...(summary?.output == null ? {} : { output: truncate(summary.output, MAX_OUTPUT_CHARS) }),
      model: summary?.model ?? target.content.config.model ?? undefined,
      ...(target.content.config.provider === undefined ? {} : { provider: target.content.config.provider }),
      latencyMs: Math.round(outcome.latencyMs * 100) / 100,
      usage: {
        ...(summary?.inputTokens == null ? {} : { inputTokens: summary.inputTokens }),
        ...(summary?.outputTokens == null ? {} : { outputTokens: summary.outputTokens }),
      },
      status: error === null ? 'ok' : 'error',
      ...(error === null ? {} : { error: truncate(error, MAX_ERROR_CHARS) }),
      attributes: {
        'promptops.source': 'gateway',
        'promptops.stream': outcome.stream,
        ...tenantAttributes(call.served),
      },
      startedAt: call.startedAt,
      ...extra,
    };
  };

  const baselineArm = (served: Resolution) => ({ rolloutId: served.rolloutId, arm: served.variant });

  /** The candidate of a shadow rollout, run on a copy of the call: never streamed, recorded beside the baseline. */
  const runShadow = async (call: Call, shadow: ShadowTarget): Promise<void> => {
    const started = performance.now();
    const record = (outcome: { summary?: AnswerSummary; error?: string }): void =>
      deps.recorder.record(
        call.actor.projectId,
        traceEvent(
          call,
          shadow,
          { rolloutId: shadow.rolloutId, arm: 'candidate' },
          { ...outcome, latencyMs: performance.now() - started, stream: false },
          { id: `${call.eventId}-shadow`, shadowOf: call.eventId },
        ),
      );
    try {
      const { stream: _stream, stream_options: _options, ...fields } = call.request.fields;
      const body = upstreamBody(shadow.content, { ...call.request, fields, stream: false }, call.request.variables);
      const answer = await deps.upstreamFor(shadow.content.config.provider).call({
        body: body.bytes,
        json: body.json,
        variables: call.request.variables,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of answer.body) {
        if (size < MAX_OBSERVED_BYTES) chunks.push(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      record({ summary: summarizeAnswer(answer.status, answer.headers['content-type'] ?? '', Buffer.concat(chunks)) });
    } catch (error) {
      record({ error: (error as Error).message });
    }
  };

  /** After the caller's answer ended (or failed): the trace, then the shadow copy when one is due. */
  const finish = (call: Call, outcome: { summary?: AnswerSummary; error?: string; status: number }): void => {
    const latencyMs = performance.now() - call.started;
    const { served } = call;
    deps.recorder.record(
      call.actor.projectId,
      traceEvent(call, served, baselineArm(served), { ...outcome, latencyMs, stream: call.request.stream }),
    );
    // A pair needs the baseline's output: no copy of a failed call.
    if (served.shadow !== null && outcome.status < 400 && outcome.error === undefined) {
      const shadow = served.shadow;
      deps.shadows.submit(() => runShadow(call, shadow));
    }
  };

  /** Copies what passes (up to MAX_OBSERVED_BYTES) and calls `done` once when the stream ends or fails. */
  const observe = (answer: UpstreamAnswer, done: (bytes: Buffer | undefined, failure?: Error) => void): Readable => {
    const chunks: Buffer[] = [];
    let size = 0;
    let finished = false;
    const end = (failure?: Error): void => {
      if (finished) return;
      finished = true;
      done(failure === undefined ? Buffer.concat(chunks) : undefined, failure);
    };
    const tee = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        if (size < MAX_OBSERVED_BYTES) chunks.push(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
      flush(callback) {
        end();
        callback();
      },
    });
    answer.body.on('error', (error) => {
      end(error);
      tee.destroy(error);
    });
    tee.on('close', () => end(new Error('the caller went away before the answer ended')));
    return answer.body.pipe(tee);
  };

  return {
    /** Resolves when every answer already sent has handed its trace and shadow copy on. */
    async finished(): Promise<void> {
      while (finishing.size > 0) await Promise.all([...finishing]);
    },

    /**
     * The answer to one call, its body still flowing from the upstream. Errors before the upstream
     * answered (no such prompt, missing variables, no provider, unreachable upstream) are thrown as
     * PromptopsErrors; those after the prompt resolved are recorded as error traces first.
     */
    async handle(
      actor: Actor,
      body: unknown,
      headers: Readonly<Record<string, string | string[] | undefined>>,
      signal: AbortSignal,
    ): Promise<GatewayAnswer> {
      const started = performance.now();
      const startedAt = now();
      const request = parseGatewayRequest(body, headers);
      const served = await deps.resolve(actor, request.ref, request.unitKey, request.tenant, request.context);
      const call: Call = {
        actor,
        eventId: `gw_${randomUUID()}`,
        traceId: randomBytes(16).toString('hex'),
        startedAt,
        started,
        request,
        served,
      };
      let answer: UpstreamAnswer;
      let upstreamMs: number;
      let sent: number;
      try {
        const upstream = deps.upstreamFor(served.content.config.provider);
        const out = upstreamBody(served.content, request, request.variables);
        sent = performance.now();
        answer = await upstream.call({ body: out.bytes, json: out.json, variables: request.variables, signal });
        upstreamMs = performance.now() - sent;
      } catch (error) {
        finish(call, {
          status: isPromptopsError(error) ? 400 : 500,
          error: isPromptopsError(error) ? `${error.code}: ${error.message}` : (error as Error).message,
        });
        throw error;
      }
      const answerHeaders = {
        ...answer.headers,
        'x-promptops-sha': served.sha,
        'x-promptops-version': String(served.version),
        'x-promptops-arm': served.variant,
        ...(served.rolloutId === null ? {} : { 'x-promptops-rollout': served.rolloutId }),
        ...(served.rule === undefined ? {} : { 'x-promptops-rule': String(served.rule) }),
        ...(served.labelRule === undefined ? {} : { 'x-promptops-label-rule': String(served.labelRule) }),
        ...tenantHeaders(served),
        'x-promptops-trace-id': call.eventId,
      };
      const contentType = answer.headers['content-type'] ?? '';
      if (!contentType.startsWith('text/event-stream')) {
        // A JSON answer (or error) is read whole and sent in one write with its length: measured, half the
        // gateway's CPU per call of piping it chunked. The bytes are the upstream's, unchanged.
        const bytes = await readWhole(answer.body, signal);
        upstreamMs = performance.now() - sent;
        // The trace after the answer is on its way, off the caller's path.
        const traced = new Promise<void>((resolve) =>
          setImmediate(() => {
            finish(call, { status: answer.status, summary: summarizeAnswer(answer.status, contentType, bytes) });
            resolve();
          }),
        );
        finishing.add(traced);
        void traced.then(() => finishing.delete(traced));
        return { status: answer.status, headers: answerHeaders, body: bytes, upstreamMs };
      }
      const piped = observe(answer, (bytes, failure) =>
        finish(call, {
          status: answer.status,
          ...(bytes === undefined ? {} : { summary: summarizeAnswer(answer.status, contentType, bytes) }),
          ...(failure === undefined ? {} : { error: failure.message }),
        }),
      );
      return { status: answer.status, headers: answerHeaders, body: piped, upstreamMs };
    },
  };
};

export type GatewayService = ReturnType<typeof createGatewayService>;
