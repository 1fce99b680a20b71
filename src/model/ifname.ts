/**
 * Interface names: the kernel allows at most 15 bytes (IFNAMSIZ - 1), no '/', no whitespace or
 * ':' and not '.' or '..'. Everything that ends up as a link name goes through `parseIfName`.
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
  if (/[\s/:%]/.test(value) || /[^\x21-\x7e]/.test(value)) {
    throw invalid(`invalid ${what} "${value}": contains characters not allowed in a link name`);
  }
  return value as IfName;
}
