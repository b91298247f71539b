/**
 * `@promptops/core/render`: prompt content, its validation, sha and rendering; what an SDK needs to
 * turn a version into messages, without the eval engine or YAML that the package root also exports.
 */
export * from './schema.js';
export * from './template.js';
export * from './prompt.js';
