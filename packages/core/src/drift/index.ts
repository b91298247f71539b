export * from '../stats/index.js';
export * from './phrases.js';
export * from './descriptors.js';
export * from './input.js';
export * from './compare.js';
export * from './verdict.js';
export * from './report.js';
export * from './text.js';
