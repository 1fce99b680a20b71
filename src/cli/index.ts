/**
 * The `berth` CLI: a thin client of berthd's Docker Engine API (version 1.47, unix socket),
 * with the docker CLI 28's verbs, flags, output formats, error wording and exit statuses
 * (0 ok, 1 error, 125 flag error, 64 bad inspect template).
 *
 * Layout: `main.ts` (global flags, dispatch, exit statuses) → `commands/<verb>.ts` (one file per
 * verb or management group) → shared pieces: `client.ts` (HTTP over the socket), `flags.ts`
 * (pflag semantics on util.parseArgs), `command.ts` (help/usage texts), `formatter.ts` and
 * `inspect.ts` (list and inspect output), `go-template.ts` + `go-value.ts` + `go-fmt.ts` +
 * `docker-types.ts` (Go templates over Docker's Go types), `tabwriter.ts`, `go-json.ts`;
 * for containers: `container-opts.ts` (run/create flags → create body), `port-specs.ts` (`-p`),
 * `validators.ts`, `image-ref.ts` (image names), `humanize.ts` (times, sizes, ellipsis) and
 * `hijack.ts` (attach/exec streams, multiplexed-frame demuxing).
 *
 * Invariants: `main` never exits the process or reads process globals (everything comes in
 * through `CliIO`); nothing here holds state between runs; the CLI never validates what the
 * daemon validates, except where the docker CLI itself does so client-side.
 */
export { main } from './main.js';
export type { CliIO } from './command.js';
