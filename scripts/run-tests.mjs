// `npm test`: unit tests (concurrent), then integration tests one file at a time (each starts
// its own berthd in its own netns). Integration tests skip loudly when not root.
import { spawnSync } from 'node:child_process';

const long = process.argv.includes('--long');
const env = { ...process.env, ...(long ? { BERTH_TEST_LONG: '1' } : {}) };
const suites = [
  ['--test', 'dist/test/unit/'],
  ['--test', '--test-concurrency=1', 'dist/test/integration/'],
];
let failed = false;
for (const args of suites) {
  const r = spawnSync(process.execPath, args, { stdio: 'inherit', env });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
