/**
 * `@promptops/core/resolve`: refs, snapshots and lockfiles; what an SDK needs to find the version a
 * name and label (or pin) serve, without the eval engine or YAML that the package root also exports.
 */
export * from './refs.js';
export * from './snapshot.js';
export * from './label-rules.js';
export * from './overrides.js';
export * from './lockfile.js';
