// Regenerates docs/errors.md from the catalogue in src/errors.ts (after `npm run build:ts`).
import { ERROR_CATALOGUE } from '../dist/src/errors.js';
let out = '# Error codes\n\nEvery error berth raises on purpose has a stable code. The HTTP status follows the kind\n(not-found 404, invalid 400, conflict 409, forbidden 403, unavailable 503, not-implemented 501,\ninternal 500); the CLI prints the message and exits 1.\n\n| code | kind | meaning |\n|---|---|---|\n';
for (const [code, { kind, doc }] of Object.entries(ERROR_CATALOGUE)) out += `| \`${code}\` | ${kind} | ${doc} |\n`;
process.stdout.write(out);
