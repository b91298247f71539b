export * from './assertions.js';
export * from './dataset.js';
export * from './excerpt.js';
export * from './judge.js';
export * from './promptfoo-import.js';
export * from './similarity.js';
export * from './suite.js';
export * from './tenants.js';
