export * from './monitor.js';
export * from './timeline.js';
export * from './postmortem.js';
