import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCode } from '../../../src/errors.js';
import {
  formatImageRef,
  imageDirName,
  imageRefFromDirName,
  looksLikeImageId,
  parseImageRef,
} from '../../../src/runtime/image-ref.js';

test('parseImageRef: names, tags, normalisation', () => {
  const cases: Array<[string, string, string]> = [
    ['busybox', 'busybox', 'latest'],
    ['busybox:latest', 'busybox', 'latest'],
    ['busybox:1.36', 'busybox', '1.36'],
    ['library/busybox', 'busybox', 'latest'],
    ['docker.io/library/busybox:musl', 'busybox', 'musl'],
    ['myorg/app_x-y.z:v1_2', 'myorg/app_x-y.z', 'v1_2'],
    ['localhost:5000/app', 'localhost:5000/app', 'latest'],
    ['registry.example.com/a/b:c', 'registry.example.com/a/b', 'c'],
  ];
  for (const [input, repository, tag] of cases) {
    const ref = parseImageRef(input);
    assert.equal(ref.repository, repository, input);
    assert.equal(ref.tag, tag, input);
  }
  assert.equal(formatImageRef(parseImageRef('busybox')), 'busybox:latest');
});

test('parseImageRef: rejects what could escape a path or reach a shell', () => {
  const bad = [
    '',
    '..',
    '../etc',
    'a/../b',
    '/abs',
    'a//b',
    'a/',
    '.hidden',
    'busybox:',
    'busybox:-x',
    'a b',
    'a;rm -rf /',
    '$(id)',
    'a\nb',
    'busybox@sha256:' + 'a'.repeat(64),
    'x'.repeat(256),
    'busybox:' + 't'.repeat(129),
  ];
  for (const input of bad) {
    assert.throws(() => parseImageRef(input), (e: unknown) => isCode(e, 'ERR_INVALID_PARAMETER'), JSON.stringify(input));
  }
  assert.throws(() => parseImageRef('BusyBox'), { message: 'invalid reference format: repository name must be lowercase' });
  assert.throws(() => parseImageRef('a b'), { message: 'invalid reference format' });
});

test('imageDirName: one directory per reference, reversible, never dotted', () => {
  const cases: Array<[string, string]> = [
    ['busybox', 'busybox'],
    ['busybox:latest', 'busybox'],
    ['busybox:1.36', 'busybox%3A1.36'],
    ['myorg/app:v1', 'myorg%2Fapp%3Av1'],
    ['localhost:5000/app', 'localhost%3A5000%2Fapp'],
  ];
  for (const [input, dir] of cases) {
    const ref = parseImageRef(input);
    assert.equal(imageDirName(ref), dir);
    assert.deepEqual(imageRefFromDirName(dir), ref);
    assert.doesNotMatch(dir, /[/:,]|^\./);
  }
  assert.equal(imageRefFromDirName('.tmp-abc'), null);
  assert.equal(imageRefFromDirName('not%2F..'), null);
});

test('looksLikeImageId', () => {
  assert.equal(looksLikeImageId('sha256:abc'), true);
  assert.equal(looksLikeImageId('0123456789ab'), true);
  assert.equal(looksLikeImageId('busybox'), false);
  assert.equal(looksLikeImageId('abc'), false);
});
