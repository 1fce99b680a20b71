import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mountOption, overlaysOver, parseMountinfo } from '../../../src/runtime/mountinfo.js';

const SAMPLE = [
  '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
  '36 22 0:31 / /tmp/with\\040space rw,relatime - tmpfs tmpfs rw',
  '40 22 0:45 / /var/lib/berth/containers/c1/merged rw,relatime - overlay overlay rw,lowerdir=/var/lib/berth/images/busybox/rootfs,upperdir=/var/lib/berth/containers/c1/upper,workdir=/var/lib/berth/containers/c1/work,uuid=on',
  '41 22 0:46 / /x rw shared:5 master:2 - overlay overlay rw,lowerdir=/a:/var/lib/berth/images/busybox/rootfs2,upperdir=/u,workdir=/w',
  'garbage line',
  '',
].join('\n');

test('parseMountinfo: fields, optional fields, octal escapes, junk', () => {
  const m = parseMountinfo(SAMPLE);
  assert.equal(m.length, 4);
  assert.deepEqual(m[0], { mountId: 22, parentId: 1, mountPoint: '/', fsType: 'ext4', source: '/dev/vda', superOptions: 'rw' });
  assert.equal(m[1]?.mountPoint, '/tmp/with space');
  assert.equal(m[3]?.fsType, 'overlay');
  assert.equal(mountOption(m[2]?.superOptions ?? '', 'upperdir'), '/var/lib/berth/containers/c1/upper');
  assert.equal(mountOption('rw,a=1', 'b'), undefined);
});

test('overlaysOver: matches whole lowerdir entries only', () => {
  const m = parseMountinfo(SAMPLE);
  assert.deepEqual(
    overlaysOver(m, '/var/lib/berth/images/busybox/rootfs').map((e) => e.mountId),
    [40],
  );
  assert.deepEqual(
    overlaysOver(m, '/var/lib/berth/images/busybox/rootfs2').map((e) => e.mountId),
    [41],
  );
  assert.deepEqual(overlaysOver(m, '/nothing'), []);
});
