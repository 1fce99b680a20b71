import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BerthError, ERROR_CATALOGUE, withContext } from '../../src/errors.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

test('docs/errors.md lists exactly the catalogue, with the same kinds', () => {
  const doc = fs.readFileSync(path.join(repo, 'docs/errors.md'), 'utf8');
  const rows = [...doc.matchAll(/^\| `(ERR_[A-Z_]+)` \| ([a-z-]+) \|/gm)].map((m) => `${m[1]} ${m[2]}`);
  const codes = Object.entries(ERROR_CATALOGUE).map(([code, { kind }]) => `${code} ${kind}`);
  assert.deepEqual(rows.sort(), codes.sort());
  assert.equal(new Set(rows).size, rows.length, 'a code is listed twice');
});

test('withContext keeps the code and the cause, and reads as a chain', () => {
  const inner = new BerthError('ERR_POOL_OVERLAP', 'invalid pool request: Pool overlaps with other one on this address space');
  const outer = withContext('create network x', inner);
  assert.equal(outer.code, 'ERR_POOL_OVERLAP');
  assert.equal(outer.kind, 'forbidden');
  assert.equal(outer.cause, inner);
  assert.equal(outer.message, 'create network x: invalid pool request: Pool overlaps with other one on this address space');
  assert.equal(withContext('x', new Error('boom')).code, 'ERR_INTERNAL');
});
