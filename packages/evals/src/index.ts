export * from './cache.js';
export * from './http.js';
export * from './pricing.js';
export * from './providers/index.js';
export * from './runner.js';
