// The platform-neutral core: what the extension and the CLI import.
export * from './errors.ts';
export * from './keys/index.ts';
export * from './messages/index.ts';
export * from './outgoing/index.ts';
export * from './discovery/index.ts';
