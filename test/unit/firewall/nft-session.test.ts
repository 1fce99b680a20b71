/**
 * The `nft -i` session's framing against a stand-in nft (a shell script that answers like
 * interactive nft: silence on success, `Error:` and the echoed line on stderr otherwise), so it
 * runs without root.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { NftSession, toOneLine } from '../../../src/firewall/nft-session.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-nft-session-'));
const fakeNft = path.join(dir, 'nft');
const log = path.join(dir, 'lines');
// Lines containing FAIL fail like a rejected transaction; `HANG` never answers; `EXIT` dies.
fs.writeFileSync(
  fakeNft,
  `#!/bin/sh
while IFS= read -r line; do
  printf '%s\\n' "$line" >> '${log}'
  case "$line" in
    berth-sync-*) printf 'Error: syntax error, unexpected newline, expecting string\\n%s\\n%s\\n' "$line" '^^^^^^^^^^^^^' >&2 ;;
    *HANG*) exec sleep 5 ;;
    *EXIT*) exit 3 ;;
    *FAIL*) printf 'Error: Could not process rule: No such file or directory\\n%s\\n      ^^^^\\n' "$line" >&2 ;;
  esac
done
`,
  { mode: 0o755 },
);

describe('NftSession', () => {
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('joins a script into one line (one transaction) and reports success', async () => {
    const s = new NftSession({ nftPath: fakeNft });
    await s.apply('add table inet t\ntable inet t {\n\tset s {\n\t\ttype ifname\n\t}\n}\n');
    await s.apply('add element inet t s { "a" }');
    await s.stop();
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
    assert.deepEqual(lines, [
      'add table inet t; table inet t {; set s {; type ifname; }; }',
      'berth-sync-1',
      'add element inet t s { "a" }',
      'berth-sync-2',
    ]);
  });

  it('reports nft\'s error for a failed script, and goes on with the next', async () => {
    const s = new NftSession({ nftPath: fakeNft });
    await assert.rejects(s.apply('add element inet t s { FAIL }'), (err: Error & { exec?: { stderr: string } }) => {
      assert.match(err.message, /Could not process rule: No such file or directory$/);
      assert.match(err.exec?.stderr ?? '', /add element inet t s \{ FAIL \}/);
      return true;
    });
    await s.apply('add element inet t s { "b" }');
    await s.stop();
  });

  it('applies concurrent calls one at a time, in order', async () => {
    fs.writeFileSync(log, '');
    const s = new NftSession({ nftPath: fakeNft });
    await Promise.all([s.apply('one'), s.apply('two FAIL').catch(() => undefined), s.apply('three')]);
    await s.stop();
    assert.deepEqual(
      fs.readFileSync(log, 'utf8').trim().split('\n').filter((l) => !l.startsWith('berth-sync')),
      ['one', 'two FAIL', 'three'],
    );
  });

  it('times out, and a dead co-process is restarted for the next script', async () => {
    const s = new NftSession({ nftPath: fakeNft, timeoutMs: 300 });
    await assert.rejects(s.apply('HANG'), /no answer within 300 ms/);
    await s.apply('after the hang');
    await assert.rejects(s.apply('EXIT'), /nft exited \(3\)/);
    await s.apply('after the exit');
    await s.stop();
    await assert.rejects(s.apply('closed'), /session closed/);
  });

  it('sends long scripts to the large-script applier, in order with the rest', async () => {
    fs.writeFileSync(log, '');
    const seen: string[] = [];
    const large = { kind: 'large', apply: async (script: string) => void seen.push(`large:${script.length}`), close() {} };
    const s = new NftSession({ nftPath: fakeNft, large, largeBytes: 100 });
    await Promise.all([s.apply('small one'), s.apply('x'.repeat(200)), s.apply('small two')]);
    await s.stop();
    assert.deepEqual(seen, ['large:200']);
    assert.deepEqual(fs.readFileSync(log, 'utf8').trim().split('\n').filter((l) => !l.startsWith('berth-sync')), ['small one', 'small two']);
  });

  it('toOneLine drops blank lines and indentation', () => {
    assert.equal(toOneLine('\n\ta\n\n  b {\n\t\tc\n\t}\n'), 'a; b {; c; }');
  });
});
