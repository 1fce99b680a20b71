/**
 * Interface names: the kernel allows at most 15 bytes (IFNAMSIZ - 1), no '/', no whitespace or
 * ':' and not '.' or '..'; berth allows only [A-Za-z0-9_.-]. Every link name goes through
 * `parseIfName`.
 */
import { invalid } from '../errors.js';

/** A validated Linux interface name. */
export type IfName = string & { readonly __brand: 'IfName' };

/** Validates a link name or throws ERR_INVALID_PARAMETER naming the offending value. */
export function parseIfName(value: string, what = 'interface name'): IfName {
  if (value === '' || value === '.' || value === '..') throw invalid(`invalid ${what} "${value}"`);
  if (Buffer.byteLength(value) > 15) {
    throw invalid(`invalid ${what} "${value}": longer than 15 characters`);
  }
  // The kernel takes almost any byte; we allow what is safe in every admin's script.
  if (!/^[A-Za-z0-9_.-]+$/.test(value)) {
    throw invalid(`invalid ${what} "${value}": use only letters, digits, '_', '.' and '-'`);
  }
  return value as IfName;
}
