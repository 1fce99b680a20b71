/** Images without root: busybox built from the host binary, imports of tarballs we make. */
import assert from 'node:assert/strict';
import { access, lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { isCode } from '../../../src/errors.js';
import { ensureBusyboxImage, getImage, importImage, listImages, removeImage } from '../../../src/runtime/images.js';
import { runTool } from '../../../src/runtime/run-tool.js';

async function makeTar(dir: string, out: string, members: string[] = ['.']): Promise<Buffer> {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const r = await runTool('tar', ['-c', '-f', out, '-P', '--numeric-owner', `--owner=${uid}`, `--group=${gid}`, '-C', dir, ...members]);
  assert.equal(r.status, 0, r.stderr.toString());
  return readFile(out);
}

test('ensureBusyboxImage: layout, idempotence, lookup', async (t) => {
  if (!(await access('/bin/busybox').then(() => true, () => false))) {
    t.skip('needs /bin/busybox (Debian busybox-static)');
    return;
  }
  const root = await mkdtemp(join(tmpdir(), 'berth-unit-img-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const img = await ensureBusyboxImage(root);
  assert.deepEqual(img.repoTags, ['busybox:latest']);
  assert.equal(img.dir, join(root, 'images', 'busybox'));
  assert.match(img.id, /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(img.config, { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] });
  assert.ok(img.size >= (await stat('/bin/busybox')).size);
  const rootfs = img.rootfs;
  assert.equal(await readlink(join(rootfs, 'bin/sh')), '/bin/busybox');
  assert.equal(await readlink(join(rootfs, 'sbin/ip')), '/bin/busybox');
  assert.equal((await lstat(join(rootfs, 'tmp'))).mode & 0o7777, 0o1777);
  assert.equal((await lstat(join(rootfs, 'root'))).mode & 0o777, 0o700);
  assert.equal(await readFile(join(rootfs, 'etc/nsswitch.conf'), 'utf8'), 'hosts: files dns\n');
  assert.match(await readFile(join(rootfs, 'etc/passwd'), 'utf8'), /^root:x:0:0:/);
  assert.ok((await readFile(join(rootfs, 'var/www/index.html'), 'utf8')).length > 0);

  const t0 = performance.now();
  const again = await ensureBusyboxImage(root);
  const ms = performance.now() - t0;
  assert.equal(again.id, img.id);
  assert.equal(again.created, img.created, 'not rebuilt');
  assert.ok(ms < 50, `second ensureBusyboxImage took ${ms} ms`);

  // Concurrent callers end with one image.
  await rm(img.dir, { recursive: true });
  const both = await Promise.all([ensureBusyboxImage(root), ensureBusyboxImage(root)]);
  assert.equal(both[0].id, both[1].id);
  assert.deepEqual((await listImages(root)).map((i) => i.repoTags[0]), ['busybox:latest']);

  assert.equal((await getImage(root, 'busybox:latest')).id, img.id);
  assert.equal((await getImage(root, img.id.slice(7, 19))).id, img.id);
  assert.equal((await getImage(root, img.id)).id, img.id);
});

test('importImage: plain, gzip and streamed tarballs; list, get, remove', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'berth-unit-imp-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const root = join(base, 'root');
  const tree = join(base, 'tree');
  await mkdir(join(tree, 'etc'), { recursive: true });
  await writeFile(join(tree, 'etc/motd'), 'imported\n');
  await writeFile(join(tree, 'hello.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  const tar = await makeTar(tree, join(base, 'img.tar'));

  const a = await importImage(root, join(base, 'img.tar'), 'myorg/app:v1', { config: { Cmd: ['/hello.sh'] }, message: 'first' });
  assert.deepEqual(a.repoTags, ['myorg/app:v1']);
  assert.equal(a.dir, join(root, 'images', 'myorg%2Fapp%3Av1'));
  assert.equal(await readFile(join(a.rootfs, 'etc/motd'), 'utf8'), 'imported\n');
  assert.equal((await stat(join(a.rootfs, 'hello.sh'))).mode & 0o777, 0o755);
  assert.equal(a.comment, 'first');
  assert.deepEqual(a.config, { Cmd: ['/hello.sh'] });
  for (const d of ['proc', 'sys', 'dev', 'tmp']) assert.ok((await stat(join(a.rootfs, d))).isDirectory());

  // Same bytes and config give the same ID, whatever the transport; gzip is detected.
  await writeFile(join(base, 'img.tar.gz'), gzipSync(tar));
  const b = await importImage(root, createReadStream(join(base, 'img.tar.gz')), 'other', { config: { Cmd: ['/hello.sh'] } });
  assert.notEqual(b.id, a.id, 'the digest is of the bytes given, compressed or not');
  const c = await importImage(root, createReadStream(join(base, 'img.tar')), 'third:x', { config: { Cmd: ['/hello.sh'] } });
  assert.equal(c.id, a.id);

  // Re-import under the same name replaces.
  const a2 = await importImage(root, join(base, 'img.tar'), 'myorg/app:v1');
  assert.notEqual(a2.id, a.id);
  assert.deepEqual(
    (await listImages(root)).map((i) => i.repoTags[0]),
    ['myorg/app:v1', 'other:latest', 'third:x'],
  );

  await removeImage(root, 'third:x');
  await assert.rejects(getImage(root, 'third:x'), { code: 'ERR_IMAGE_NOT_FOUND', message: 'No such image: third:x' });
  await assert.rejects(removeImage(root, 'third:x'), { code: 'ERR_IMAGE_NOT_FOUND' });
  await assert.rejects(getImage(root, 'Bad Name'), (e: unknown) => isCode(e, 'ERR_INVALID_PARAMETER'));
});

test('importImage: refuses bad archives and leaves nothing behind', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'berth-unit-bad-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const root = join(base, 'root');
  await mkdir(join(base, 'tree/sub'), { recursive: true });
  await writeFile(join(base, 'tree/evil.txt'), 'evil\n');
  await makeTar(join(base, 'tree/sub'), join(base, 'evil.tar'), ['../evil.txt']);
  await assert.rejects(importImage(root, join(base, 'evil.tar'), 'evil'), (e: unknown) => isCode(e, 'ERR_INVALID_PARAMETER'));
  await writeFile(join(base, 'junk.tar'), 'this is not a tar archive at all, just text\n'.repeat(20));
  await assert.rejects(importImage(root, join(base, 'junk.tar'), 'junk'), (e: unknown) => isCode(e, 'ERR_INVALID_PARAMETER'));
  await writeFile(join(base, 'junk.gz'), Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(100, 7)]));
  await assert.rejects(importImage(root, join(base, 'junk.gz'), 'junk'), (e: unknown) => isCode(e, 'ERR_INVALID_PARAMETER'));
  await writeFile(join(base, 'empty.tar'), '');
  await assert.rejects(importImage(root, join(base, 'empty.tar'), 'empty'), { message: 'import image empty:latest: the archive is empty' });
  await assert.rejects(importImage(root, join(base, 'evil.tar'), '../x'), (e: unknown) => isCode(e, 'ERR_INVALID_PARAMETER'));
  assert.deepEqual(await listImages(root), []);
  const { readdir } = await import('node:fs/promises');
  assert.deepEqual(await readdir(join(root, 'images')), [], 'no .tmp-* left');
});
