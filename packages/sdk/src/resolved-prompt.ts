import { renderPrompt, type PromptContent, type RenderedPrompt } from '@promptops/core/render';
import { toOpenAIRequest, type OpenAIChatRequest, type ToOpenAIOptions } from './openai.js';
import { attachPromptLink } from './trace/prompt-link.js';

export type PromptSource = 'snapshot' | 'fallback';

/** Variables for a render: JSON data keyed by the prompt's declared variable names. */
export type PromptVariables = Readonly<Record<string, unknown>>;

/** Which prompt served a call: `base` with no rollout on the label, else the rollout's arm. */
export type Variant = 'base' | 'baseline' | 'candidate';

/**
 * The candidate a shadow rollout runs on a copy of this call: render it with the call's variables, run
 * it in the background (never on the caller's latency path) and record it as a shadow trace
 * (`instrumentOpenAI` does all of it). Its output is never returned to the user.
 */
export class ShadowPrompt {
  constructor(
    readonly rolloutId: string,
    readonly name: string,
    readonly version: number,
    readonly sha: string,
    /** The label whose rollout it is. */
    readonly label: string | null,
    readonly content: PromptContent,
  ) {
    Object.freeze(this);
  }

  /** The arm it records: always `candidate`. */
  get variant(): 'candidate' {
    return 'candidate';
  }

  render(vars: PromptVariables = {}): RenderedPrompt {
    return renderPrompt(this.content, vars);
  }

  /** The candidate's request for `openai.chat.completions.create` (without a prompt link: nothing re-shadows it). */
  toOpenAI(vars: PromptVariables = {}, options?: ToOpenAIOptions): OpenAIChatRequest {
    return toOpenAIRequest(this.content, this.render(vars), options);
  }
}

/**
 * What `client.get` returns. Instances are cached per (name, label[, tenant]) and shared between calls until the
 * label moves, so treat them as immutable (they are frozen).
 */
export class ResolvedPrompt {
  constructor(
    readonly name: string,
    /** The registry's vN (0 for an in-code default, which was never pushed). */
    readonly version: number,
    readonly sha: string,
    /** The label that resolved it; null when pinned by sha or version. */
    readonly label: string | null,
    /** `base` with no rollout on the label; else the arm of its rollout that served this call. */
    readonly variant: Variant,
    /** 'snapshot': the registry's (live, cached on disk, or prefetched); 'fallback': lockfile or in-code default. */
    readonly source: PromptSource,
    /** The lockfile's release sha when the client was given a lockfile, else null. */
    readonly releaseSha: string | null,
    readonly content: PromptContent,
    /** The label's active rollout (split or shadow), or null. */
    readonly rolloutId: string | null = null,
    /** For a shadow rollout's unit: the candidate to run on a copy of this call; else null. */
    readonly shadow: ShadowPrompt | null = null,
    /** The tenant asked for (`get(name, { tenant })`), else null. */
    readonly tenant: string | null = null,
    /** The shared version an override was applied to; `sha` when no override applies. */
    readonly baseSha: string = sha,
    /** The tenant's override applied, or null; `sha` is then the effective content's sha. */
    readonly overrideSha: string | null = null,
    /** The index of the label's own targeting rule that served this call, or null. */
    readonly labelRule: number | null = null,
  ) {
    Object.freeze(this);
  }

  /** Renders with the prompt's declared variables; throws `invalid_variables` naming each missing or undeclared one. */
  render(vars: PromptVariables = {}): RenderedPrompt {
    return renderPrompt(this.content, vars);
  }

  /**
   * `{ model, messages, ...params }` for `openai.chat.completions.create` (a text prompt becomes one user
   * message). The result also carries a hidden link to this prompt and `vars` for `instrumentOpenAI`.
   */
  toOpenAI(vars: PromptVariables = {}, options?: ToOpenAIOptions): OpenAIChatRequest {
    const request = toOpenAIRequest(this.content, this.render(vars), options);
    // Invisible to the provider and to JSON: lets instrumentOpenAI record this prompt's sha and variables.
    attachPromptLink(request, request.messages, {
      prompt: this,
      variables: { ...vars },
      ...(options === undefined ? {} : { options }),
    });
    return request;
  }
}
