import { createHash } from 'node:crypto';

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/** A SHA-256 digest as the protocol writes it: exactly 64 hex digits, either case. */
export function isSha256Hex(value: string): boolean {
  return SHA256_HEX.test(value);
}

/** Lower-case hex SHA-256, the form mqft stores and compares. */
export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Devices may send upper-case hex; a malformed digest simply does not match. */
export function verifySegmentChecksum(payload: Uint8Array, expected: string): boolean {
  return isSha256Hex(expected) && sha256Hex(payload) === expected.toLowerCase();
}
