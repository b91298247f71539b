/**
 * The drift entry (`@promptops/core/drift`): output descriptors, the statistics that compare two
 * versions' outputs, and the report with its verdict in words.
 */
export * from './drift/index.js';
