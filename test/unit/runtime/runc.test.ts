import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCode } from '../../../src/errors.js';
import { renderOciSpec } from '../../../src/runtime/bundle.js';
import { parseProcLimits, parseSignal, runcErrors, withTerminal } from '../../../src/runtime/runc.js';

test('parseSignal', () => {
  assert.equal(parseSignal('SIGTERM'), 15);
  assert.equal(parseSignal('term'), 15);
  assert.equal(parseSignal('KILL'), 9);
  assert.equal(parseSignal('9'), 9);
  assert.equal(parseSignal(34), 34);
  for (const bad of ['SIGNOPE', '0', '65', '-9', 'KILL; rm', '']) {
    assert.throws(() => parseSignal(bad), (e: unknown) => isCode(e, 'ERR_INVALID_PARAMETER'), bad);
  }
});

test('runcErrors: error messages of runc JSON logs', () => {
  const text = [
    '{"level":"warning","msg":"w","time":"t"}',
    '{"level":"error","msg":"exec failed: unable to start container process: exec: \\"nonexist\\": executable file not found in $PATH","time":"t"}',
    'exec failed: plain text copy',
    '{"level":"error","msg":"second","time":"t"}',
  ].join('\n');
  assert.deepEqual(runcErrors(text), [
    'exec failed: unable to start container process: exec: "nonexist": executable file not found in $PATH',
    'second',
  ]);
  assert.deepEqual(runcErrors(''), []);
});

test('parseProcLimits', () => {
  const text = [
    'Limit                     Soft Limit           Hard Limit           Units     ',
    'Max processes             63711                63711                processes ',
    'Max open files            20000                20000                files     ',
    'Max core file size        0                    unlimited            bytes     ',
  ].join('\n');
  assert.deepEqual(parseProcLimits(text), { RLIMIT_NPROC: 63711, RLIMIT_NOFILE: 20000, RLIMIT_CORE: Infinity });
});

test('withTerminal: terminal true, TERM=xterm unless the environment sets TERM', () => {
  const spec = renderOciSpec({ rootfs: '/r', args: ['sh'], env: ['A=1'], hostname: 'h', network: { kind: 'host' }, cgroupsPath: 'berth:c' });
  assert.equal(spec.process.terminal, false);
  const t = withTerminal(spec);
  assert.equal(t.process.terminal, true);
  const rendered = renderOciSpec({ rootfs: '/r', args: ['sh'], env: ['A=1'], hostname: 'h', network: { kind: 'host' }, cgroupsPath: 'berth:c', terminal: true });
  assert.deepEqual([...t.process.env].sort(), [...rendered.process.env].sort());
  assert.ok(t.process.env.includes('TERM=xterm'));
  const own = withTerminal(renderOciSpec({ rootfs: '/r', args: ['sh'], env: ['TERM=vt100'], hostname: 'h', network: { kind: 'host' }, cgroupsPath: 'berth:c' }));
  assert.deepEqual(own.process.env.filter((e) => e.startsWith('TERM=')), ['TERM=vt100']);
  assert.equal(spec.process.terminal, false, 'the input spec is not changed');
});
