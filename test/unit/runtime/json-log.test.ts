import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { logText, parseLogLine, readLog } from '../../../src/runtime/json-log.js';

test('parseLogLine: Docker json-file entries; junk is null', () => {
  assert.deepEqual(parseLogLine('{"log":"hi\\n","stream":"stdout","time":"2024-01-01T00:00:00.1Z"}'), {
    log: 'hi\n',
    stream: 'stdout',
    time: '2024-01-01T00:00:00.1Z',
  });
  assert.equal(parseLogLine('{"log":"x","stream":"other","time":"t"}'), null);
  assert.equal(parseLogLine('{"log":"torn'), null);
  assert.equal(parseLogLine(''), null);
});

test('readLog: filters, tail, missing file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-unit-log-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'c-json.log');
  await writeFile(
    path,
    [
      '{"log":"a\\n","stream":"stdout","time":"2024-01-01T00:00:00Z"}',
      '{"log":"b\\n","stream":"stderr","time":"2024-01-01T00:00:01Z"}',
      '{"log":"c","stream":"stdout","time":"2024-01-01T00:00:02Z"}',
      '{"log":"torn',
    ].join('\n'),
  );
  assert.equal(logText(await readLog(path)), 'a\nb\nc');
  assert.equal(logText(await readLog(path, { stderr: false })), 'a\nc');
  assert.equal(logText(await readLog(path, { tail: 1 })), 'c');
  assert.deepEqual(await readLog(join(dir, 'missing')), []);
});
