import type { Client, EvaluationContext } from '@openfeature/server-sdk';

export interface LabelFromOpenFeatureOptions {
  /** The label when the flag answers its default (default: none, i.e. the promptops client's own default). */
  readonly defaultLabel?: string;
}

/**
 * Your flag system decides the label: returns `(name, context) => Promise<label | undefined>` that
 * evaluates the string flag `flagKey` through an OpenFeature client (any provider: LaunchDarkly, Unleash,
 * flagd…), with the prompt's name in the context as `prompt`. OpenFeature's evaluation API is
 * asynchronous, so pass its answer to `get`: `client.get(name, { label: await pick(name, ctx) })`.
 */
export const labelFromOpenFeature = (
  ofClient: Pick<Client, 'getStringValue'>,
  flagKey: string,
  options: LabelFromOpenFeatureOptions = {},
): ((name: string, context?: EvaluationContext) => Promise<string | undefined>) => {
  const fallback = options.defaultLabel ?? '';
  return async (name, context = {}) => {
    const label = await ofClient.getStringValue(flagKey, fallback, { ...context, prompt: name });
    return label === '' ? undefined : label;
  };
};
