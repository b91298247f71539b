/**
 * The link from a request built by `prompt.toOpenAI(vars)` back to the prompt and variables, so
 * `instrumentOpenAI` can record the served sha without the app passing anything extra. It must never
 * reach the provider: it is a non-enumerable symbol-keyed property (JSON.stringify and object spread
 * skip it, and so do test matchers), plus a WeakMap entry keyed by the `messages` array, which survives
 * the common `{ ...prompt.toOpenAI(vars), stream: true }`.
 */

/** What a trace needs from a resolved prompt (a `ResolvedPrompt` is one; structural to keep imports acyclic). */
export interface ServedPrompt {
  readonly name: string;
  readonly version: number;
  readonly sha: string;
  readonly label: string | null;
  readonly variant: string;
  readonly source: string;
  readonly releaseSha: string | null;
  /** `get(name, { tenant })`: the tenant, the base version's sha and the override applied (`sha` is then the effective one). */
  readonly tenant?: string | null;
  readonly baseSha?: string;
  readonly overrideSha?: string | null;
  /** The label's active rollout, when one served it. */
  readonly rolloutId?: string | null;
  /** The candidate a shadow rollout runs on a copy of the call. */
  readonly shadow?: ShadowTarget | null;
}

/** What a shadow copy needs of the candidate (a `ShadowPrompt` is one). */
export interface ShadowTarget {
  readonly rolloutId: string;
  readonly name: string;
  readonly version: number;
  readonly sha: string;
  readonly label: string | null;
  readonly variant: 'candidate';
  toOpenAI(vars: Readonly<Record<string, unknown>>, options?: { readonly model?: string }): object;
}

export interface PromptLink {
  readonly prompt: ServedPrompt;
  readonly variables: Readonly<Record<string, unknown>>;
  /** The options `toOpenAI` was given (a model override applies to the shadow copy too). */
  readonly options?: { readonly model?: string };
}

const LINK = Symbol.for('promptops.promptLink');
const byMessages = new WeakMap<object, PromptLink>();

export const attachPromptLink = (request: object, messages: object, link: PromptLink): void => {
  Object.defineProperty(request, LINK, { value: link, enumerable: false, configurable: true, writable: false });
  byMessages.set(messages, link);
};

/** The prompt and variables a request was built from, when it came from `toOpenAI` (spread or not). */
export const promptLinkOf = (request: unknown): PromptLink | undefined => {
  if (typeof request !== 'object' || request === null) return undefined;
  const own = (request as { [LINK]?: PromptLink })[LINK];
  if (own !== undefined) return own;
  const messages = (request as { messages?: unknown }).messages;
  return typeof messages === 'object' && messages !== null ? byMessages.get(messages) : undefined;
};
