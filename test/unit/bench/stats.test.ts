import assert from 'node:assert/strict';
import { test } from 'node:test';
import { median, parseSamples, percentile, summarize } from '../../../bench/stats.js';

test('median: middle value, mean of the two middle values for an even count', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
  assert.ok(Number.isNaN(median([])));
});

test('percentile: nearest rank, as the peers stats.py computes p90', () => {
  const xs = Array.from({ length: 10 }, (_, i) => 10 - i); // 10..1, unsorted on purpose
  assert.equal(percentile(xs, 0.9), 9);
  assert.equal(percentile(xs, 0.99), 10);
  assert.equal(percentile(xs, 1), 10);
  assert.equal(percentile([5], 0.9), 5);
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(hundred, 0.9), 90);
  assert.equal(percentile(hundred, 0.99), 99);
  assert.throws(() => percentile(xs, 0), RangeError);
});

test('summarize: ignores non-finite samples, undefined when nothing is left', () => {
  const s = summarize([2, NaN, 1, 3, Infinity]);
  assert.deepEqual(s, { n: 3, median: 2, p90: 3, p99: 3, mean: 2, min: 1, max: 3 });
  assert.equal(summarize([]), undefined);
  assert.equal(summarize([NaN]), undefined);
});

test('parseSamples: one number a line, as the peers scripts write .ms files', () => {
  assert.deepEqual(parseSamples('1.250\n\n24.001\nx\n3\n'), [1.25, 24.001, 3]);
});
