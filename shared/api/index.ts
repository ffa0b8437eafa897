/** The studio's one typed API: requests, events, errors and the client both transports share. */
export * from './errors';
export * from './types';
export * from './methods';
export * from './events';
export * from './client';
export { argIssues, type ArgShape, type ArgField } from './arg-shape';
export { encodeWire, decodeWire } from './wire';
export { RENDERER_CSP } from './renderer-csp';
