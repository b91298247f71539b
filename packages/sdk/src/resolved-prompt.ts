import { renderPrompt, type PromptContent, type RenderedPrompt } from '@promptops/core/render';
import { toOpenAIRequest, type OpenAIChatRequest, type ToOpenAIOptions } from './openai.js';
import { attachPromptLink } from './trace/prompt-link.js';

export type PromptSource = 'snapshot' | 'fallback';

/** Variables for a render: JSON data keyed by the prompt's declared variable names. */
export type PromptVariables = Readonly<Record<string, unknown>>;

/**
 * What `client.get` returns. Instances are cached per (name, label) and shared between calls until the
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
    /** Which arm of a rollout served it; always 'base' until rollouts arrive. */
    readonly variant: 'base',
    /** 'snapshot': the registry's (live, cached on disk, or prefetched); 'fallback': lockfile or in-code default. */
    readonly source: PromptSource,
    /** The lockfile's release sha when the client was given a lockfile, else null. */
    readonly releaseSha: string | null,
    readonly content: PromptContent,
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
    attachPromptLink(request, request.messages, { prompt: this, variables: { ...vars } });
    return request;
  }
}
