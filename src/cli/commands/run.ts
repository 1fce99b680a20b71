/**
 * `berth run` and `berth create` — docker CLI 28.2.2's `container/run.go` and `create.go`.
 *
 * create: `POST /containers/create?name=` with the body of `container-opts.ts`; warnings from
 * the daemon go to stderr as `WARNING: …`; the ID to stdout. When the daemon answers 404 for
 * the image, docker prints `Unable to find image 'busybox:latest' locally` and pulls; berth has
 * no registry, so it does not try and prints what docker prints when that pull fails.
 *
 * run, attached: create → attach (hijacked) → `wait?condition=next-exit` (`removed` with
 * `--rm`), whose headers berthd sends at once → start → copy the stream (demultiplexed unless
 * the container has a tty) → exit with the container's status. Detached: create → print the
 * ID → wait (abandoned, as docker cancels it) → start.
 *
 * Errors of `run` read `berth: <message>` plus the help hint and exit 125 (126/127 when the
 * daemon says the command could not be executed / found), as docker's do; `create` prints the
 * daemon's error plainly and exits 1.
 *
 * Not done: signal forwarding to the container (`--sig-proxy`), detach keys, resizing a tty.
 */
import { BIN, type CliIO, type Command, type CommandContext, StatusError } from '../command.js';
import type { ApiClient } from '../client.js';
import { DaemonError, goPathEscape } from '../client.js';
import { CONTAINER_FLAGS, ContainerOptsError, type ContainerSpec, localhostDns, parseContainerFlags } from '../container-opts.js';
import type { FlagSpec } from '../flags.js';
import { StdDemuxer, hijack, readBody, streamRequest, type StreamedResponse } from '../hijack.js';
import { ReferenceError, familiarName, familiarString, parseAnyReference, tagNameOnly } from '../image-ref.js';

const containerPath = (id: string, action = ''): string => `/containers/${goPathEscape(id)}${action === '' ? '' : '/' + action}`;

/** docker's `reportError(..., withHelp=true)`: `berth: <msg>` and the help hint. */
function reportError(path: string, message: string, status: number): StatusError {
  return new StatusError(`${BIN}: ${message}\n\nRun '${path} --help' for more information`, status);
}

/** `runStartContainerErr`: 127 for a missing executable, 126 for a permission problem, else 125. */
export function startErrorStatus(message: string): number {
  const m = message.replace(/^Error response from daemon: /, '');
  if (/executable file not found|no such file or directory|system cannot find the file specified/.test(m)) return 127;
  if (/permission denied|is a directory/.test(m)) return 126;
  return 125;
}

const PULL_OPTIONS = ['always', 'missing', 'never'];

/** The pull error docker shows when the registry does not have the image. */
function pullDenied(image: string): DaemonError {
  let name = image;
  try {
    const ref = parseAnyReference(image);
    if (ref !== null) name = familiarName(ref);
  } catch {
    // keep the image as typed
  }
  return new DaemonError(404, `pull access denied for ${name}, repository does not exist or may require 'docker login'`);
}

/**
 * `createContainer`: validates the image reference, creates, and handles a missing image the
 * way `--pull` says. Returns the ID. Throws StatusError/DaemonError (the caller words them).
 */
async function createContainer(ctx: CommandContext, spec: ContainerSpec): Promise<string> {
  const { io } = ctx;
  const dns = localhostDns(spec.dns);
  if (dns !== undefined) io.stderr.write(`WARNING: Localhost DNS (${dns}) may fail in containers.\n`);
  let named;
  try {
    named = parseAnyReference(spec.image);
  } catch (e) {
    if (e instanceof ReferenceError) throw new StatusError(e.message, 1);
    throw e;
  }
  const pull = ctx.flags.string('pull');
  if (pull === 'always' && named !== null) throw pullDenied(spec.image);
  const client = ctx.client();
  let res: string;
  try {
    res = await client.call('POST', '/containers/create', {
      query: { name: spec.name === '' ? undefined : spec.name },
      json: spec.body,
    });
  } catch (e) {
    if (e instanceof DaemonError && e.status === 404 && named !== null && (pull === 'missing' || pull === '')) {
      if (!ctx.flags.bool('quiet')) io.stderr.write(`Unable to find image '${familiarString(tagNameOnly(named))}' locally\n`);
      throw pullDenied(spec.image);
    }
    throw e;
  }
  const parsed = JSON.parse(res) as { Id?: unknown; Warnings?: unknown };
  if (Array.isArray(parsed.Warnings)) for (const w of parsed.Warnings) io.stderr.write(`WARNING: ${String(w)}\n`);
  return typeof parsed.Id === 'string' ? parsed.Id : '';
}

function parseSpec(ctx: CommandContext, detach: boolean): ContainerSpec {
  const pull = ctx.flags.string('pull');
  if (!PULL_OPTIONS.includes(pull) && pull !== '') {
    throw reportError(ctx.path, `invalid pull option: '${pull}': must be one of "always", "missing" or "never"`, 125);
  }
  try {
    return parseContainerFlags(ctx.flags, ctx.args, ctx.io.env, { detach });
  } catch (e) {
    if (e instanceof ContainerOptsError) throw reportError(ctx.path, e.message, 125);
    throw e;
  }
}

const PULL_FLAG = (verb: string): FlagSpec => ({
  name: 'pull',
  kind: 'string',
  default: 'missing',
  usage: `Pull image before ${verb} ("always", "${verb === 'creating' ? '|' : ''}missing", "never")`,
});

export const create: Command = {
  name: 'create',
  aliasPaths: ['container create', 'create'],
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  short: 'Create a new container',
  flags: [...CONTAINER_FLAGS, PULL_FLAG('creating')],
  args: { kind: 'min', n: 1 },
  interspersed: false,
  async run(ctx) {
    const spec = parseSpec(ctx, false);
    const id = await createContainer(ctx, spec);
    ctx.io.stdout.write(`${id}\n`);
  },
};

/** Is the CLI's stdin a terminal (docker's `CheckTty`)? */
const stdinIsTty = (io: CliIO): boolean => (io.stdin as { isTTY?: boolean }).isTTY === true;

/** Reads the wait answer: the exit status, 125 when waiting failed. */
export async function waitStatus(io: CliIO, wait: StreamedResponse | Error): Promise<number> {
  if (wait instanceof Error) {
    io.stderr.write(`error waiting for container: ${wait.message.replace(/^Error response from daemon: /, '')}\n`);
    return 125;
  }
  const text = await readBody(wait);
  try {
    const r = JSON.parse(text) as { StatusCode?: unknown; Error?: { Message?: unknown } | null };
    if (r.Error !== null && r.Error !== undefined && typeof r.Error.Message === 'string' && r.Error.Message !== '') {
      io.stderr.write(`Error waiting for container: ${r.Error.Message}\n`);
      return 125;
    }
    return typeof r.StatusCode === 'number' ? r.StatusCode : 125;
  } catch {
    io.stderr.write(`error waiting for container: unexpected answer ${JSON.stringify(text)}\n`);
    return 125;
  }
}

/**
 * Copies a hijacked stream to the CLI's output (and stdin to it when `stdin`), resolving when
 * the daemon closes it. Returns a function that tears the connection down.
 */
export function pumpHijacked(
  io: CliIO,
  conn: { socket: import('node:net').Socket; head: Buffer },
  tty: boolean,
  stdin: boolean,
): { done: Promise<void>; close: () => void } {
  const demux = new StdDemuxer(io, tty);
  const { socket } = conn;
  let onStdin: ((c: Buffer | string) => void) | undefined;
  let onStdinEnd: (() => void) | undefined;
  const cleanup = (): void => {
    if (onStdin !== undefined) io.stdin.off('data', onStdin);
    if (onStdinEnd !== undefined) io.stdin.off('end', onStdinEnd);
    if (stdin) io.stdin.pause();
  };
  const done = new Promise<void>((resolve, reject) => {
    const finish = (err?: Error): void => {
      cleanup();
      try {
        demux.end();
      } catch {
        // partial output at the end is dropped
      }
      if (err !== undefined) reject(err);
      else resolve();
    };
    try {
      if (conn.head.length > 0) demux.push(conn.head);
    } catch (e) {
      finish(e as Error);
      return;
    }
    socket.on('data', (c: Buffer) => {
      try {
        demux.push(c);
      } catch (e) {
        socket.destroy();
        finish(e as Error);
      }
    });
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    socket.on('error', (e) => finish(e));
  });
  if (stdin) {
    onStdin = (c: Buffer | string): void => {
      socket.write(c);
    };
    onStdinEnd = (): void => {
      // docker's CloseWrite: the container sees EOF on its stdin.
      if (!socket.destroyed) socket.end();
    };
    io.stdin.on('data', onStdin);
    io.stdin.on('end', onStdinEnd);
    io.stdin.resume();
  }
  return {
    done,
    close: () => {
      cleanup();
      socket.destroy();
    },
  };
}

/** `runContainer`. */
async function runContainer(ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const detach = ctx.flags.bool('detach');
  if (detach && ctx.flags.strings('attach').length > 0) {
    throw new StatusError('conflicting options: cannot specify both --attach and --detach', 1);
  }
  const spec = parseSpec(ctx, detach);
  if (!detach && spec.attachStdin && spec.tty && !stdinIsTty(io)) throw new StatusError('the input device is not a TTY', 1);

  let id: string;
  try {
    id = await createContainer(ctx, spec);
  } catch (e) {
    if (e instanceof StatusError) throw reportError(ctx.path, e.message, startErrorStatus(e.message));
    throw e;
  }
  const client: ApiClient = ctx.client();
  const attached = spec.attachStdin || spec.attachStdout || spec.attachStderr;
  if (!spec.attachStdout && !spec.attachStderr) io.stdout.write(`${id}\n`);

  let stream: ReturnType<typeof pumpHijacked> | undefined;
  if (attached) {
    const conn = await hijack(client, containerPath(id, 'attach'), {
      query: {
        stream: '1',
        stdin: spec.attachStdin ? '1' : undefined,
        stdout: spec.attachStdout ? '1' : undefined,
        stderr: spec.attachStderr ? '1' : undefined,
      },
    });
    stream = pumpHijacked(io, conn, spec.tty, spec.attachStdin);
  }
  const waiting: Promise<StreamedResponse | Error> = streamRequest(client, 'POST', containerPath(id, 'wait'), {
    query: { condition: spec.autoRemove ? 'removed' : 'next-exit' },
  }).catch((e: Error) => e);
  // The daemon sends the wait headers before anything else happens: wait for them so the
  // start cannot race the registration of the waiter.
  const wait = await waiting;
  try {
    await client.call('POST', containerPath(id, 'start'));
  } catch (e) {
    stream?.close();
    if (spec.autoRemove && !(wait instanceof Error)) {
      await Promise.race([readBody(wait), new Promise((r) => setTimeout(r, 10_000).unref())]);
    }
    if (!(wait instanceof Error)) wait.abort();
    if (e instanceof StatusError) throw reportError(ctx.path, e.message, startErrorStatus(e.message));
    throw e;
  }
  if (stream !== undefined) {
    try {
      await stream.done;
    } catch (e) {
      if (!(wait instanceof Error)) wait.abort();
      throw new StatusError((e as Error).message, 1);
    } finally {
      stream.close();
    }
  }
  if (!spec.attachStdout && !spec.attachStderr) {
    if (!(wait instanceof Error)) wait.abort();
    return 0;
  }
  return waitStatus(io, wait);
}

export const run: Command = {
  name: 'run',
  aliasPaths: ['container run', 'run'],
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  short: 'Create and run a new container from an image',
  flags: [
    ...CONTAINER_FLAGS,
    { name: 'detach', short: 'd', kind: 'bool', usage: 'Run container in background and print container ID' },
    { name: 'detach-keys', kind: 'string', usage: 'Override the key sequence for detaching a container' },
    { name: 'sig-proxy', kind: 'bool', default: true, usage: 'Proxy received signals to the process' },
    PULL_FLAG('running'),
  ],
  args: { kind: 'min', n: 1 },
  interspersed: false,
  run: runContainer,
};
