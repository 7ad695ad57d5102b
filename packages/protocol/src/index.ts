// The device protocol of mqft (docs/protocol.md) as pure functions: no I/O, no clocks.
export * from './reason-codes.js';
export * from './errors.js';
export * from './limits.js';
export * from './command.js';
export * from './topic.js';
export * from './identity.js';
export * from './identifiers.js';
export * from './decimal.js';
export * from './checksum.js';
export * from './filemeta.js';
export * from './json-value.js';
export * from './result.js';
export * from './ranges.js';
export * from './printable.js';
export * from './storage-key.js';
export * from './transfer-key.js';
