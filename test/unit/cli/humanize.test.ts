/**
 * go-units' HumanDuration / HumanSizeWithPrecision, the formatter's Ellipsis, and
 * distribution/reference parsing, on the values docker's own tests and the real CLI use.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ellipsis, formatG, humanDuration, humanSize, humanSizeWithPrecision } from '../../../src/cli/humanize.js';
import { familiarString, parseAnyReference, parseNormalizedNamed, tagNameOnly } from '../../../src/cli/image-ref.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe('humanDuration (go-units)', () => {
  const cases: [number, string][] = [
    [0, 'Less than a second'],
    [999, 'Less than a second'],
    [1 * S, '1 second'],
    [59.9 * S, '59 seconds'],
    [60 * S, 'About a minute'],
    [119 * S, 'About a minute'],
    [2 * M, '2 minutes'],
    [59 * M + 59 * S, '59 minutes'],
    [60 * M, 'About an hour'],
    [89 * M, 'About an hour'],
    [90 * M, '2 hours'],
    [47 * H, '47 hours'],
    [48 * H, '2 days'],
    [13 * D, '13 days'],
    [14 * D, '2 weeks'],
    [59 * D, '8 weeks'],
    [60 * D, '2 months'],
    [400 * D, '13 months'],
    [730 * D, '2 years'],
  ];
  for (const [ms, want] of cases) it(`${ms} ms → ${want}`, () => assert.equal(humanDuration(ms), want));
});

describe('sizes and %g', () => {
  it('HumanSizeWithPrecision(…, 3) as `docker images` prints it', () => {
    assert.equal(humanSizeWithPrecision(4261550, 3), '4.26MB');
    assert.equal(humanSizeWithPrecision(123456789, 3), '123MB');
    assert.equal(humanSizeWithPrecision(999, 3), '999B');
    assert.equal(humanSizeWithPrecision(1000, 3), '1kB');
    assert.equal(humanSizeWithPrecision(1500000000, 3), '1.5GB');
    assert.equal(humanSizeWithPrecision(0, 3), '0B');
    assert.equal(humanSize(123456789), '123.5MB');
  });
  it('formatG follows Go, exponent form included', () => {
    assert.equal(formatG(999.5, 3), '1e+03');
    assert.equal(formatG(0.00001234, 3), '1.23e-05');
    assert.equal(formatG(12.5, 4), '12.5');
  });
});

describe('ellipsis', () => {
  it('cuts by display width, wide characters counting two', () => {
    assert.equal(ellipsis('sleep 300', 20), 'sleep 300');
    assert.equal(ellipsis("/entrypoint.sh nginx -g 'daemon off;'", 20), '/entrypoint.sh ngin…');
    assert.equal(ellipsis('echo "quoted" and 日本語 text', 20), 'echo "quoted" and …');
    assert.equal(ellipsis('abc', 1), 'a');
    assert.equal(ellipsis('abc', 0), '');
  });
});

describe('image references', () => {
  it('normalises and prints familiar names', () => {
    assert.equal(familiarString(tagNameOnly(parseNormalizedNamed('busybox'))), 'busybox:latest');
    assert.equal(familiarString(tagNameOnly(parseNormalizedNamed('docker.io/library/busybox:1.36'))), 'busybox:1.36');
    assert.equal(familiarString(tagNameOnly(parseNormalizedNamed('localhost:5000/foo'))), 'localhost:5000/foo:latest');
    assert.equal(familiarString(tagNameOnly(parseNormalizedNamed('missing-Foo/bar:1'))), 'missing-Foo/bar:1');
    const digest = 'sha256:' + 'a'.repeat(64);
    assert.equal(familiarString(tagNameOnly(parseNormalizedNamed(`foo@${digest}`))), `foo@${digest}`);
    assert.equal(parseAnyReference('b'.repeat(64)), null);
  });
  it('rejects what docker rejects, with its messages', () => {
    assert.throws(() => parseNormalizedNamed('UPPER'), { message: 'invalid reference format: repository name (library/UPPER) must be lowercase' });
    assert.throws(() => parseNormalizedNamed('a b'), { message: 'invalid reference format' });
    assert.throws(() => parseNormalizedNamed('foo:'), { message: 'invalid reference format' });
    assert.throws(() => parseNormalizedNamed('foo@sha256:abc'), { message: 'invalid reference format' });
  });
});
