// The platform-neutral core: the one entry point the extension, the CLI and tests import.
export * from './errors.ts';
export * from './platform.ts';
export * from './engine.ts';
export * from './keys/index.ts';
export * from './messages/index.ts';
export * from './mime/index.ts';
export * from './incoming/index.ts';
export * from './outgoing/index.ts';
export * from './keyring/index.ts';
export * from './discovery/index.ts';
