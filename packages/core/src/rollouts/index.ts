export * from './murmur3.js';
export * from './assignment.js';
