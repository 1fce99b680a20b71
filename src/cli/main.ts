/**
 * The `berth` CLI entry: global flags, command lookup, and the mapping of failures to exit
 * statuses — 0 success, 1 command or daemon errors, 125 flag errors, 64 bad inspect templates
 * (the docker CLI's statuses). `main` never calls `process.exit` and never touches process
 * globals, so tests run it in-process with their own streams and environment.
 *
 * Commands: management groups (`container …`, `image …`, `network …`) and top-level verbs — the
 * docker shortcuts (`run`, `ps`, `exec`, `images`, …) and `version`, `info`. A verb is a
 * {@link Command} exported by `commands/<file>.ts`, listed in a group and/or `TOP_LEVEL`; 125
 * also covers `run`/`create` option errors, and `run`/`exec` exit with the container's status.
 */
import {
  BIN,
  type CliIO,
  type Command,
  type CommandContext,
  type CommandGroup,
  StatusError,
  checkArgs,
  flagUsageError,
  renderCommandHelp,
  renderGroupHelp,
  useLine,
} from './command.js';
import { ApiClient, parseHost, resolveHost } from './client.js';
import { exec, logs, port } from './commands/exec.js';
import { imageImport, imageInspect, imageLs, imageRm, images, rmi } from './commands/image.js';
import { containerInspect, inspect } from './commands/inspect.js';
import { kill, restart, rm, start, stop, wait } from './commands/lifecycle.js';
import { infoCommand } from './commands/info.js';
import { networkGroup } from './commands/network.js';
import { ps } from './commands/ps.js';
import { create, run as runVerb } from './commands/run.js';
import { versionCommand } from './commands/version.js';
import { FlagError, type FlagSpec, parseFlags, renderFlagUsages } from './flags.js';
import { berthVersion } from './version-info.js';

export type { CliIO } from './command.js';

const containerGroup: CommandGroup = {
  name: 'container',
  short: 'Manage containers',
  commands: [
    create,
    exec,
    containerInspect,
    kill,
    logs,
    { ...ps, name: 'ls', aliases: ['list', 'ps'] },
    port,
    restart,
    rm,
    runVerb,
    start,
    stop,
    wait,
  ],
};

const imageGroup: CommandGroup = {
  name: 'image',
  short: 'Manage images',
  commands: [imageImport, imageInspect, imageLs, imageRm],
};

/** Management commands (`berth network …`). */
const GROUPS: readonly CommandGroup[] = [containerGroup, imageGroup, networkGroup];

/** Top-level verbs: docker's shortcuts for the container and image commands, and system verbs. */
const TOP_LEVEL: readonly Command[] = [
  create,
  exec,
  imageImport,
  images,
  infoCommand,
  inspect,
  kill,
  logs,
  port,
  ps,
  restart,
  { ...rm, aliases: [] },
  rmi,
  runVerb,
  start,
  stop,
  versionCommand,
  wait,
];

const GLOBAL_FLAGS: readonly FlagSpec[] = [
  { name: 'debug', short: 'D', kind: 'bool', usage: 'Enable debug mode' },
  {
    name: 'host',
    short: 'H',
    kind: 'list',
    usage: 'Daemon socket to connect to',
    validate: (v) => {
      parseHost(v);
    },
  },
  {
    name: 'log-level',
    short: 'l',
    kind: 'string',
    default: 'info',
    usage: 'Set the logging level ("debug", "info", "warn", "error", "fatal")',
  },
  { name: 'version', short: 'v', kind: 'bool', usage: 'Print version information and quit' },
];

const ROOT_USE = `${BIN} [OPTIONS] COMMAND [ARG...]`;

function rootHelp(): string {
  const row = (name: string, short: string): string => `  ${name.padEnd(12)}${short}\n`;
  return (
    `Usage:  ${BIN} [OPTIONS] COMMAND\n\n` +
    'Docker-compatible container networking\n\n' +
    'Management Commands:\n' +
    GROUPS.map((g) => row(g.name, g.short)).join('') +
    '\nCommands:\n' +
    [...TOP_LEVEL].sort((a, b) => a.name.localeCompare(b.name)).map((c) => row(c.name, c.short)).join('') +
    '\nGlobal Options:\n' +
    renderFlagUsages(GLOBAL_FLAGS) +
    `\nRun '${BIN} COMMAND --help' for more information on a command.\n`
  );
}

const findCommand = (cmds: readonly Command[], name: string): Command | undefined =>
  cmds.find((c) => c.name === name || (c.aliases ?? []).includes(name));

/** Runs a leaf command: flags, help, argument check, then the command. */
async function runCommand(
  io: CliIO,
  path: string,
  cmd: Command,
  argv: readonly string[],
  makeClient: () => ApiClient,
  debug: boolean,
): Promise<number> {
  let parsed;
  try {
    parsed = parseFlags(argv, cmd.flags, { interspersed: cmd.interspersed !== false });
  } catch (e) {
    if (e instanceof FlagError) throw flagUsageError(e.message, path, useLine(path, cmd));
    throw e;
  }
  if (parsed.flags.bool('help')) {
    io.stdout.write(renderCommandHelp(path, cmd));
    return 0;
  }
  const argError = checkArgs(path, cmd, parsed.args);
  if (argError !== null) throw argError;
  let client: ApiClient | undefined;
  const ctx: CommandContext = {
    io,
    path,
    flags: parsed.flags,
    args: parsed.args,
    debug,
    client: () => (client ??= makeClient()),
  };
  return (await cmd.run(ctx)) ?? 0;
}

async function run(argv: readonly string[], io: CliIO): Promise<number> {
  let global;
  try {
    global = parseFlags(argv, GLOBAL_FLAGS, { interspersed: false });
  } catch (e) {
    if (e instanceof FlagError) throw flagUsageError(e.message, BIN, ROOT_USE);
    throw e;
  }
  const g = global.flags;
  if (g.bool('version')) {
    io.stdout.write(`${BIN} version ${berthVersion()}\n`);
    return 0;
  }
  const [verb, ...rest] = global.args;
  if (g.bool('help') || verb === undefined) {
    io.stdout.write(rootHelp());
    return 0;
  }
  const hosts = g.strings('host');
  if (hosts.length > 1) throw new StatusError('Specify only one -H', 1);
  const makeClient = (): ApiClient => new ApiClient(resolveHost(hosts[0], io.env), `berth-cli/${berthVersion()}`);
  const debug = g.bool('debug');

  const group = GROUPS.find((x) => x.name === verb);
  if (group !== undefined) {
    const path = `${BIN} ${group.name}`;
    const [sub, ...subArgs] = rest;
    if (sub === undefined) {
      io.stderr.write(renderGroupHelp(path, group));
      return 0;
    }
    if (sub === '--help' || sub === '-h') {
      io.stdout.write(renderGroupHelp(path, group));
      return 0;
    }
    if (sub.startsWith('-')) {
      const name = sub.startsWith('--') ? sub.split('=')[0] : undefined;
      const msg = name !== undefined ? `unknown flag: ${name}` : `unknown shorthand flag: '${sub[1] ?? ''}' in ${sub}`;
      throw flagUsageError(msg, path, `${path} COMMAND`);
    }
    const cmd = findCommand(group.commands, sub);
    if (cmd === undefined) {
      throw new StatusError(
        `${BIN}: unknown command: ${path} ${sub}\n\nUsage:  ${path}\n\nRun '${path} --help' for more information`,
        1,
      );
    }
    return runCommand(io, `${path} ${cmd.name}`, cmd, subArgs, makeClient, debug);
  }
  const cmd = findCommand(TOP_LEVEL, verb);
  if (cmd === undefined) {
    throw new StatusError(`${BIN}: unknown command: ${BIN} ${verb}\n\nRun '${BIN} --help' for more information`, 1);
  }
  return runCommand(io, `${BIN} ${cmd.name}`, cmd, rest, makeClient, debug);
}

/**
 * Runs the CLI with `argv` (without the node and script paths) and returns the exit status.
 * Errors are printed to `io.stderr` as the docker CLI prints them.
 */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  try {
    return await run(argv, io);
  } catch (e) {
    if (e instanceof StatusError) {
      if (e.message !== '') io.stderr.write(e.message + '\n');
      return e.exitCode;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    io.stderr.write(`${err.message}\n`);
    if (err.stack !== undefined && io.env['BERTH_DEBUG'] !== undefined) io.stderr.write(`${err.stack}\n`);
    return 1;
  }
}
