import { PromptopsError } from '@promptops/core/errors';
import { type PromptContent, type RenderedPrompt } from '@promptops/core/render';

/**
 * The body for the official `openai` client's `chat.completions.create`: the model, the rendered
 * messages and the prompt's model parameters (temperature, max_tokens, …). Shapes only: no dependency
 * on the `openai` package.
 */

export interface OpenAIChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant';
  content: string;
}

export interface OpenAIChatRequest {
  model: string;
  messages: OpenAIChatMessage[];
  [param: string]: unknown;
}

export interface ToOpenAIOptions {
  /** Overrides the prompt's model (e.g. a gateway alias). */
  readonly model?: string;
}

export const toOpenAIRequest = (
  content: PromptContent,
  rendered: RenderedPrompt,
  options: ToOpenAIOptions = {},
): OpenAIChatRequest => {
  const model = options.model ?? content.config.model;
  if (model === undefined) {
    throw new PromptopsError('invalid', 'missing_model', `prompt '${content.name}' names no model (config.model)`, {
      fix: 'set model.name in the prompt file, or pass toOpenAI(vars, { model })',
    });
  }
  const messages: OpenAIChatMessage[] =
    rendered.type === 'text'
      ? [{ role: 'user', content: rendered.text }] // a text prompt is one user message
      : rendered.messages.map((message) => ({ role: message.role, content: message.content }));
  const request: OpenAIChatRequest = { model, messages };
  for (const [key, value] of Object.entries(content.config.params)) {
    // model and messages come from the prompt itself; a param cannot replace them.
    if (key !== 'model' && key !== 'messages' && key !== '__proto__') request[key] = value;
  }
  return request;
};
