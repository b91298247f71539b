export { PromptopsProvider } from './provider.js';
export type { PromptFlagValue, PromptopsProviderOptions } from './provider.js';
export { promptopsOpenFeatureHook } from './hook.js';
export { labelFromOpenFeature } from './label.js';
export type { LabelFromOpenFeatureOptions } from './label.js';
export { parseFlagKey } from './keys.js';
export type { FlagKey } from './keys.js';
