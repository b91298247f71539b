import {
  FlagNotFoundError,
  GeneralError,
  InvalidContextError,
  OpenFeatureEventEmitter,
  ProviderEvents,
  ProviderNotReadyError,
  StandardResolutionReasons,
  TypeMismatchError,
  type EvaluationContext,
  type FlagMetadata,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import {
  createClient,
  decideTargeting,
  isPromptopsError,
  type ClientOptions,
  type GetOptions,
  type PromptopsClient,
  type PromptopsError,
  type ResolvedPrompt,
} from '@promptops/sdk';
import { parseFlagKey } from './keys.js';

export interface PromptopsProviderOptions {
  /** A client the app already made (the provider neither readies nor closes it beyond `ready()`). */
  readonly client?: PromptopsClient;
  /** While STALE, how often the client's connection is checked to go back to READY (default 250 ms). */
  readonly staleCheckMs?: number;
}

/** The object `getObjectValue('prompt:NAME')` answers: the prompt served and what to render it with. */
export interface PromptFlagValue {
  readonly [key: string]: JsonValue;
  readonly name: string;
  readonly version: number;
  readonly sha: string;
  readonly label: string | null;
  readonly variant: string;
  readonly rolloutId: string | null;
  readonly type: string;
  /** A chat prompt's messages (templates, unrendered), else null. */
  readonly messages: JsonValue;
  /** A text prompt's template, else null. */
  readonly template: string | null;
  readonly content: JsonValue;
}

interface Answer {
  readonly value: PromptFlagValue;
  readonly flagMetadata: FlagMetadata;
  readonly variant: string;
}

/** Client problems that say the server is away while the snapshot keeps serving: STALE until reconnected. */
const AWAY = new Set(['server_unreachable', 'server_timeout', 'stream_disconnected', 'stream_idle']);
const awayFrom = (error: PromptopsError): boolean => {
  const status = error.details?.['status'];
  return typeof status === 'number'
    ? (status === 502 || status === 503 || status === 504) && error.code === `http_${status}`
    : AWAY.has(error.code);
};

/** A tenant override, once the SDK's results carry one (`tenant` on the resolved prompt). */
const tenantOf = (resolved: ResolvedPrompt): string | null => {
  const tenant = (resolved as { readonly tenant?: unknown }).tenant;
  return typeof tenant === 'string' && tenant !== '' ? tenant : null;
};

const stringIn = (context: EvaluationContext, field: string): string | undefined => {
  const value = context[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new InvalidContextError(`evaluation context field '${field}' must be a string, got ${typeof value}`);
  }
  return value;
};

const NO_CONTEXT: GetOptions = Object.freeze({});

interface CallOptions {
  readonly unitKey: string | undefined;
  readonly tenant: string | undefined;
  readonly label: string | undefined;
  readonly context: EvaluationContext;
}

const isEmpty = (context: EvaluationContext): boolean => {
  for (const _ in context) return false;
  return true;
};

/**
 * An OpenFeature server provider that evaluates promptops prompts and rollouts locally, through the
 * promptops SDK's in-memory snapshot: no request per evaluation. `prompt:NAME` is an object flag (the
 * prompt served, its version or rollout arm as the variant); `rollout:ID` a boolean flag (whether the
 * unit is in the candidate arm).
 */
export class PromptopsProvider implements Provider {
  readonly metadata = { name: 'promptops' } as const;
  readonly runsOn = 'server' as const;
  readonly events = new OpenFeatureEventEmitter();
  readonly client: PromptopsClient;

  private readonly owned: boolean;
  private readonly staleCheckMs: number;
  private ready = false;
  private stale = false;
  private staleTimer: ReturnType<typeof setInterval> | undefined;
  private readonly unsubscribe: (() => void)[] = [];
  /** Answers per resolved prompt: the SDK shares a ResolvedPrompt per (name, label, arm) until it changes. */
  private readonly answers = new WeakMap<ResolvedPrompt, Answer>();

  /** `{ client }` to use the app's client, or the options of a client the provider makes (and closes). */
  constructor(options: PromptopsProviderOptions | (ClientOptions & Omit<PromptopsProviderOptions, 'client'>)) {
    const given = (options as PromptopsProviderOptions).client;
    this.owned = given === undefined;
    this.client = given ?? createClient(options as ClientOptions);
    this.staleCheckMs = (options as PromptopsProviderOptions).staleCheckMs ?? 250;
  }

  async initialize(): Promise<void> {
    await this.client.ready(); // rejects only when there is nothing at all to serve: the SDK then emits ERROR
    if (this.ready) return;
    this.ready = true;
    const changed = (flags: string[]): void =>
      this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: flags });
    this.unsubscribe.push(
      this.client.on('change', (event) => changed([`prompt:${event.name}`])),
      this.client.on('labelRules', (event) => changed([`prompt:${event.name}`])),
      this.client.on('rollout', (event) => {
        const ids = [event.rollout?.id, event.previousId].filter((id): id is string => typeof id === 'string');
        changed([`prompt:${event.name}`, ...[...new Set(ids)].map((id) => `rollout:${id}`)]);
      }),
      this.client.on('error', (error) => this.onClientError(error)),
    );
  }

  async onClose(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    if (this.staleTimer !== undefined) clearInterval(this.staleTimer);
    this.staleTimer = undefined;
    this.ready = false;
    if (this.owned) await this.client.close();
  }

  resolveObjectEvaluation<T extends JsonValue>(
    flagKey: string,
    _defaultValue: T,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<T>> {
    try {
      return Promise.resolve(this.evaluatePrompt(flagKey, context) as unknown as ResolutionDetails<T>);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  resolveBooleanEvaluation(
    flagKey: string,
    _defaultValue: boolean,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<boolean>> {
    try {
      return Promise.resolve(this.evaluateRollout(flagKey, context));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  resolveStringEvaluation(flagKey: string): Promise<ResolutionDetails<string>> {
    return Promise.reject(this.mismatch(flagKey, 'string'));
  }

  resolveNumberEvaluation(flagKey: string): Promise<ResolutionDetails<number>> {
    return Promise.reject(this.mismatch(flagKey, 'number'));
  }

  // ---- evaluation -------------------------------------------------------------------------------

  /** `prompt:NAME`: the prompt the SDK serves for this context. */
  evaluatePrompt(flagKey: string, context: EvaluationContext): ResolutionDetails<PromptFlagValue> {
    const key = parseFlagKey(flagKey);
    if (key.kind !== 'prompt') throw new TypeMismatchError(`'${flagKey}' is a boolean flag: use getBooleanValue`);
    this.checkReady();
    const options = this.getOptions(context);
    const resolved = this.get(key.name, options);
    const answer = this.answers.get(resolved) ?? this.answer(resolved);
    const tenant = tenantOf(resolved);
    const reason =
      tenant !== null || resolved.labelRule !== null || this.ruleMatched(key.name, options)
        ? StandardResolutionReasons.TARGETING_MATCH
        : resolved.rolloutId !== null && options.unitKey !== undefined
          ? StandardResolutionReasons.SPLIT
          : StandardResolutionReasons.STATIC;
    return { value: answer.value, variant: answer.variant, reason, flagMetadata: answer.flagMetadata };
  }

  /** `rollout:ID`: whether this unit is in the candidate arm of that rollout, as the SDK assigns it. */
  evaluateRollout(flagKey: string, context: EvaluationContext): ResolutionDetails<boolean> {
    const key = parseFlagKey(flagKey);
    if (key.kind !== 'rollout') throw new TypeMismatchError(`'${flagKey}' is an object flag: use getObjectValue`);
    this.checkReady();
    const where = this.findRollout(key.id);
    if (where === undefined) {
      throw new FlagNotFoundError(`no running or paused rollout '${key.id}' in the snapshot`);
    }
    const unitKey = stringIn(context, 'targetingKey');
    const options = { label: where.label, unitKey: unitKey ?? null, context };
    const resolved = this.get(where.name, options);
    return {
      value: resolved.variant === 'candidate',
      variant: resolved.variant,
      reason: this.ruleMatched(where.name, options)
        ? StandardResolutionReasons.TARGETING_MATCH
        : unitKey === undefined
          ? StandardResolutionReasons.STATIC
          : StandardResolutionReasons.SPLIT,
      flagMetadata: {
        rolloutId: key.id,
        name: where.name,
        label: where.label,
        sha: resolved.sha,
        version: resolved.version,
      },
    };
  }

  private getOptions(context: EvaluationContext): GetOptions {
    const unitKey = stringIn(context, 'targetingKey');
    const tenant = stringIn(context, 'tenant');
    const label = stringIn(context, 'label');
    if (unitKey === undefined && tenant === undefined && label === undefined && isEmpty(context)) return NO_CONTEXT;
    // One shape for every call, absent fields undefined (the SDK reads them so): no spreads, and the SDK's
    // reads of it stay monomorphic (spreads cost about 1 µs a call in bench/openfeature). The whole context feeds a
    // rollout's targeting rules (the SDK reads it only under one).
    const options: CallOptions = { unitKey, tenant, label, context };
    return options as GetOptions;
  }

  /** Whether a targeting rule of the label's rollout decided this call (core's decision, as get made it). */
  private ruleMatched(name: string, options: GetOptions): boolean {
    const prompt = Object.hasOwn(this.client.snapshot().prompts, name)
      ? this.client.snapshot().prompts[name]
      : undefined;
    const label = options.label ?? 'production';
    const rollout =
      prompt?.rollouts !== undefined && Object.hasOwn(prompt.rollouts, label) ? prompt.rollouts[label] : undefined;
    if (rollout?.rules === undefined) return false;
    return decideTargeting(rollout, options.unitKey ?? null, options.context).cause === 'rule';
  }

  private get(name: string, options: GetOptions): ResolvedPrompt {
    try {
      return this.client.get(name, options);
    } catch (error) {
      if (isPromptopsError(error) && error.kind === 'not_found') throw new FlagNotFoundError(error.message);
      throw new GeneralError(error instanceof Error ? error.message : String(error));
    }
  }

  private answer(resolved: ResolvedPrompt): Answer {
    const content = resolved.content as unknown as Record<string, JsonValue>;
    const variant = resolved.variant === 'base' ? `v${resolved.version}` : resolved.variant;
    const tenant = tenantOf(resolved);
    const value: PromptFlagValue = Object.freeze({
      name: resolved.name,
      version: resolved.version,
      sha: resolved.sha,
      label: resolved.label,
      variant,
      rolloutId: resolved.rolloutId,
      type: String(content['type']),
      messages: content['messages'] ?? null,
      template: typeof content['template'] === 'string' ? content['template'] : null,
      content: resolved.content as unknown as JsonValue,
    });
    const flagMetadata: FlagMetadata = Object.freeze({
      sha: resolved.sha,
      version: resolved.version,
      ...(resolved.label === null ? {} : { label: resolved.label }),
      ...(resolved.rolloutId === null ? {} : { rolloutId: resolved.rolloutId }),
      ...(tenant === null ? {} : { tenant }),
    });
    const answer = { value, flagMetadata, variant };
    this.answers.set(resolved, answer);
    return answer;
  }

  private findRollout(id: string): { readonly name: string; readonly label: string } | undefined {
    const { prompts } = this.client.snapshot();
    for (const name of Object.keys(prompts)) {
      const rollouts = prompts[name]?.rollouts;
      if (rollouts === undefined) continue;
      for (const label of Object.keys(rollouts)) if (rollouts[label]?.id === id) return { name, label };
    }
    return undefined;
  }

  private checkReady(): void {
    if (!this.ready) {
      throw new ProviderNotReadyError(
        'the promptops provider is not ready: await OpenFeature.setProviderAndWait(provider)',
      );
    }
  }

  private mismatch(flagKey: string, type: string): Error {
    const key = parseFlagKey(flagKey);
    const use = key.kind === 'prompt' ? 'getObjectValue' : 'getBooleanValue';
    return new TypeMismatchError(`'${flagKey}' is not a ${type} flag: use ${use}`);
  }

  // ---- status -----------------------------------------------------------------------------------

  /** The server went away: the snapshot still serves, but may be behind. STALE until the client reconnects. */
  private onClientError(error: PromptopsError): void {
    if (!this.ready || this.stale || !awayFrom(error)) return;
    this.stale = true;
    this.events.emit(ProviderEvents.Stale, { message: error.message });
    this.staleTimer = setInterval(() => {
      if (!this.client.status().connected) return;
      clearInterval(this.staleTimer);
      this.staleTimer = undefined;
      this.stale = false;
      this.events.emit(ProviderEvents.Ready, { message: 'reconnected to the promptops server' });
    }, this.staleCheckMs);
    this.staleTimer.unref?.();
  }
}
