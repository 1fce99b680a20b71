/**
 * The command tree of the `berth` CLI: what a command declares (name, usage, flags, argument
 * rule, run), how `--help` and usage errors look, and the error that carries an exit status.
 *
 * Texts follow the docker CLI 28 (`cli/cobra.go` usage template, `cli/required.go` argument
 * checks, `cli/flags` `FlagErrorFunc`), with `docker` replaced by `berth`:
 *
 * - a flag error prints `<pflag message>\n\nUsage:  <use line>\n\nRun '<path> --help' for
 *   more information` and exits 125;
 * - a wrong number of arguments prints `berth: '<path>' requires 1 argument` (or `requires at
 *   least`, `accepts no arguments`) with the same usage block and exits 1 (the minimum-args
 *   variant says "See" instead of "Run", as docker's does).
 *
 * A new verb (`run`, `ps`, `exec`, …) is a {@link Command} in `commands/<verb>.ts`, listed in
 * `main.ts`.
 */
import type { ApiClient } from './client.js';
import { type FlagSpec, type ParsedFlags, renderFlagUsages } from './flags.js';

/** Something text can be written to (`process.stdout`, or a test's collector). */
export interface TextSink {
  write(chunk: string): unknown;
}

/** The process surroundings of one CLI run; injected so tests run `main` in-process. */
export interface CliIO {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  readonly stdin: NodeJS.ReadableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * An error that ends the command with an exit status. `message` is printed to stderr as is
 * (nothing when empty) — the docker CLI's `cli.StatusError`.
 */
export class StatusError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StatusError';
    this.exitCode = exitCode;
  }
}

/** How many positional arguments a command takes (cobra's `Args`). */
export type ArgRule =
  | { readonly kind: 'none' }
  | { readonly kind: 'exact'; readonly n: number }
  | { readonly kind: 'min'; readonly n: number }
  | { readonly kind: 'max'; readonly n: number }
  | { readonly kind: 'range'; readonly min: number; readonly max: number }
  | { readonly kind: 'any' };

/** What a running command gets. */
export interface CommandContext {
  readonly io: CliIO;
  /** Full command path, e.g. `berth network create`. */
  readonly path: string;
  readonly flags: ParsedFlags;
  readonly args: readonly string[];
  /** The global `-D/--debug` flag. */
  readonly debug: boolean;
  /** The API client for the selected daemon (created on first use). */
  client(): ApiClient;
}

/** A leaf command such as `network create`. */
export interface Command {
  readonly name: string;
  readonly aliases?: readonly string[];
  /**
   * The "Aliases:" line of the help text when it is not derived from `aliases`: docker prints
   * `docker container stop, docker stop` for both spellings of a container verb. Each entry
   * is a command path without the binary name (`container stop`).
   */
  readonly aliasPaths?: readonly string[];
  /** false: flags end at the first positional (`run IMAGE ls -l`), as pflag's `SetInterspersed(false)`. */
  readonly interspersed?: boolean;
  /** Usage after the command path, e.g. `[OPTIONS] NETWORK`. */
  readonly usage: string;
  readonly short: string;
  readonly flags: readonly FlagSpec[];
  readonly args: ArgRule;
  /** Runs the command; returns the exit status (0 when void). Throws {@link StatusError}. */
  run(ctx: CommandContext): Promise<number | void>;
}

/** A management command such as `network`, grouping leaf commands. */
export interface CommandGroup {
  readonly name: string;
  readonly short: string;
  readonly commands: readonly Command[];
}

/** The binary's name, as error messages print it. */
export const BIN = 'berth';

/** `berth network create [OPTIONS] NETWORK`. */
export function useLine(path: string, cmd: Command): string {
  return cmd.usage === '' ? path : `${path} ${cmd.usage}`;
}

/** The help text of a leaf command (stdout of `--help`). */
export function renderCommandHelp(path: string, cmd: Command): string {
  let out = `Usage:  ${useLine(path, cmd)}\n\n${cmd.short}\n`;
  if (cmd.aliasPaths !== undefined) {
    out += `\nAliases:\n  ${cmd.aliasPaths.map((a) => `${BIN} ${a}`).join(', ')}\n`;
  } else if (cmd.aliases !== undefined && cmd.aliases.length > 0) {
    const parent = path.slice(0, path.length - cmd.name.length);
    out += `\nAliases:\n  ${[cmd.name, ...cmd.aliases].map((a) => parent + a).join(', ')}\n`;
  }
  const flags = renderFlagUsages(cmd.flags);
  if (flags !== '') out += `\nOptions:\n${flags}`;
  return out;
}

/** The help text of a management command (`berth network --help`). */
export function renderGroupHelp(path: string, group: CommandGroup): string {
  const names = group.commands.map((c) => c.name).sort();
  const pad = Math.max(11, ...names.map((n) => n.length)) + 1;
  const lines = names.map((n) => {
    const c = group.commands.find((x) => x.name === n) as Command;
    return `  ${n.padEnd(pad)}${c.short}\n`;
  });
  return (
    `Usage:  ${path} COMMAND\n\n${group.short}\n\nCommands:\n${lines.join('')}\n` +
    `Run '${path} COMMAND --help' for more information on a command.\n`
  );
}

/** A usage error for a flag problem: pflag's message plus the usage hint; exit 125. */
export function flagUsageError(message: string, path: string, use: string): StatusError {
  return new StatusError(`${message}\n\nUsage:  ${use}\n\nRun '${path} --help' for more information`, 125);
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Checks the positional arguments; returns the error the docker CLI would give, or null. */
export function checkArgs(path: string, cmd: Command, args: readonly string[]): StatusError | null {
  const use = useLine(path, cmd);
  const rule = cmd.args;
  const tail = (verb: 'Run' | 'See'): string => `\n\nUsage:  ${use}\n\n${verb} '${path} --help' for more information`;
  switch (rule.kind) {
    case 'none':
      return args.length === 0 ? null : new StatusError(`${BIN}: '${path}' accepts no arguments${tail('Run')}`, 1);
    case 'exact':
      return args.length === rule.n
        ? null
        : new StatusError(`${BIN}: '${path}' requires ${plural(rule.n, 'argument')}${tail('Run')}`, 1);
    case 'min':
      return args.length >= rule.n
        ? null
        : new StatusError(`${BIN}: '${path}' requires at least ${plural(rule.n, 'argument')}${tail('See')}`, 1);
    case 'max':
      return args.length <= rule.n
        ? null
        : new StatusError(`${BIN}: '${path}' requires at most ${plural(rule.n, 'argument')}${tail('Run')}`, 1);
    case 'range':
      return args.length >= rule.min && args.length <= rule.max
        ? null
        : new StatusError(
            `${BIN}: '${path}' requires at least ${rule.min} and at most ${plural(rule.max, 'argument')}${tail('Run')}`,
            1,
          );
    case 'any':
      return null;
  }
}
