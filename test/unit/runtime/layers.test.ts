import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCode } from '../../../src/errors.js';
import { checkContainerId, layerPaths, overlayOptions } from '../../../src/runtime/layers.js';

test('layerPaths and overlayOptions', () => {
  const l = layerPaths('/var/lib/berth', 'c1', '/var/lib/berth/images/busybox%3A1.0/rootfs');
  assert.deepEqual(l, {
    id: 'c1',
    lower: '/var/lib/berth/images/busybox%3A1.0/rootfs',
    upper: '/var/lib/berth/containers/c1/upper',
    work: '/var/lib/berth/containers/c1/work',
    merged: '/var/lib/berth/containers/c1/merged',
  });
  assert.equal(
    overlayOptions(l),
    'lowerdir=/var/lib/berth/images/busybox%3A1.0/rootfs,upperdir=/var/lib/berth/containers/c1/upper,workdir=/var/lib/berth/containers/c1/work,index=off',
  );
});

test('layerPaths refuses paths that would break the mount option string', () => {
  for (const [root, lower] of [
    ['/var/lib/be,rth', '/img'],
    ['/var/lib/berth', '/img:/etc'],
    ['/var/lib/berth', '/img,upperdir=/etc'],
    ['/var/lib/berth', 'relative'],
    ['/var/lib/b erth', '/img'],
  ] as const) {
    assert.throws(() => layerPaths(root, 'c1', lower), (e: unknown) => isCode(e, 'ERR_INVALID_PARAMETER'), `${root} ${lower}`);
  }
});

test('checkContainerId', () => {
  for (const ok of ['c1', 'a'.repeat(64), 'web_1.x-y']) checkContainerId(ok);
  for (const bad of ['', '..', '-x', 'a/b', 'a..b', '.x', 'a b', 'a'.repeat(129)]) {
    assert.throws(() => checkContainerId(bad), (e: unknown) => isCode(e, 'ERR_INVALID_PARAMETER'), bad);
  }
});
