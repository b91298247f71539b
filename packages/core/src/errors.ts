/**
 * Errors as data, in one entry (`@promptops/core/errors`): the error class and its kinds, the
 * catalogue of codes, and the decoding of an HTTP error answer.
 */
export * from './error-kinds.js';
export * from './error-base.js';
export * from './http-error.js';
export * from './error-catalogue.js';
