/**
 * berth's own version, read once from the package manifest (`package.json` at the repository
 * root, two levels above `dist/src/cli/`).
 */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** The `version` of berth's package.json, or `dev` when it cannot be read. */
export function berthVersion(): string {
  if (cached === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
      cached = typeof pkg.version === 'string' ? pkg.version : 'dev';
    } catch {
      cached = 'dev';
    }
  }
  return cached;
}
