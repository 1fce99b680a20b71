/**
 * `berth start|stop|restart|kill|rm|wait` — docker CLI 28.2.2's `container/{start,stop,
 * restart,kill,rm,wait}.go`: one request per container, names echoed on stdout in argument
 * order, errors on stderr, exit status 1 when any failed.
 *
 * Docker sends stop/kill/rm for several containers in parallel; berth does too, and prints the
 * results in argument order as docker does. `rm -f` of a missing container prints the error but
 * still succeeds, as in docker 28. `start -a` attaches like `run`; `start` without it reports
 * `Error: failed to start containers: a, b`.
 */
import { type Command, type CommandContext, StatusError } from '../command.js';
import { DaemonError, goPathEscape } from '../client.js';
import { hijack, streamRequest } from '../hijack.js';
import { pumpHijacked, waitStatus } from './run.js';

const containerPath = (id: string, action = ''): string => `/containers/${goPathEscape(id)}${action === '' ? '' : '/' + action}`;

/** Runs `op` for every container at once; returns the errors in argument order. */
async function parallel(names: readonly string[], op: (name: string) => Promise<void>): Promise<(Error | null)[]> {
  return Promise.all(
    names.map(async (n) => {
      try {
        await op(n);
        return null;
      } catch (e) {
        if (e instanceof StatusError) return e;
        throw e;
      }
    }),
  );
}

/** Prints names and collects errors as `errors.Join` does (one per line), exit status 1. */
function report(ctx: CommandContext, names: readonly string[], errors: readonly (Error | null)[]): void {
  const messages: string[] = [];
  names.forEach((n, i) => {
    const e = errors[i];
    if (e === null || e === undefined) ctx.io.stdout.write(`${n}\n`);
    else messages.push(e.message);
  });
  if (messages.length > 0) throw new StatusError(messages.join('\n'), 1);
}

const signalFlag = { name: 'signal', short: 's', kind: 'string', usage: 'Signal to send to the container' } as const;
const timeoutFlag = { name: 'timeout', short: 't', kind: 'int', usage: 'Seconds to wait before killing the container' } as const;
const timeHidden = { name: 'time', kind: 'int', usage: 'Seconds to wait before killing the container (deprecated: use --timeout)', hidden: true } as const;

/** The `t` and `signal` query of stop/restart (`t` only when -t was given). */
function stopQuery(ctx: CommandContext): Record<string, string | undefined> {
  const given = ctx.flags.changed('timeout') ? ctx.flags.int('timeout') : ctx.flags.changed('time') ? ctx.flags.int('time') : undefined;
  const signal = ctx.flags.string('signal');
  return { t: given === undefined ? undefined : String(given), signal: signal === '' ? undefined : signal };
}

function checkTimeFlags(ctx: CommandContext): void {
  if (ctx.flags.changed('time') && ctx.flags.changed('timeout')) {
    throw new StatusError('conflicting options: cannot specify both --timeout and --time', 1);
  }
}

export const stop: Command = {
  name: 'stop',
  aliasPaths: ['container stop', 'stop'],
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Stop one or more running containers',
  flags: [signalFlag, timeoutFlag, timeHidden],
  args: { kind: 'min', n: 1 },
  async run(ctx) {
    checkTimeFlags(ctx);
    const client = ctx.client();
    const query = stopQuery(ctx);
    report(ctx, ctx.args, await parallel(ctx.args, async (n) => void (await client.call('POST', containerPath(n, 'stop'), { query }))));
  },
};

export const restart: Command = {
  name: 'restart',
  aliasPaths: ['container restart', 'restart'],
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Restart one or more containers',
  flags: [signalFlag, timeoutFlag, timeHidden],
  args: { kind: 'min', n: 1 },
  async run(ctx) {
    checkTimeFlags(ctx);
    const client = ctx.client();
    const query = stopQuery(ctx);
    const errors: (Error | null)[] = [];
    for (const n of ctx.args) {
      try {
        await client.call('POST', containerPath(n, 'restart'), { query });
        errors.push(null);
      } catch (e) {
        if (!(e instanceof StatusError)) throw e;
        errors.push(e);
      }
    }
    report(ctx, ctx.args, errors);
  },
};

export const kill: Command = {
  name: 'kill',
  aliasPaths: ['container kill', 'kill'],
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Kill one or more running containers',
  flags: [signalFlag],
  args: { kind: 'min', n: 1 },
  async run(ctx) {
    const client = ctx.client();
    const signal = ctx.flags.string('signal');
    const query = { signal: signal === '' ? undefined : signal };
    report(ctx, ctx.args, await parallel(ctx.args, async (n) => void (await client.call('POST', containerPath(n, 'kill'), { query }))));
  },
};

export const rm: Command = {
  name: 'rm',
  aliases: ['remove'],
  aliasPaths: ['container rm', 'container remove', 'rm'],
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Remove one or more containers',
  flags: [
    { name: 'force', short: 'f', kind: 'bool', usage: 'Force the removal of a running container (uses SIGKILL)' },
    { name: 'link', short: 'l', kind: 'bool', usage: 'Remove the specified link' },
    { name: 'volumes', short: 'v', kind: 'bool', usage: 'Remove anonymous volumes associated with the container' },
  ],
  args: { kind: 'min', n: 1 },
  async run(ctx) {
    const client = ctx.client();
    const force = ctx.flags.bool('force');
    const query = {
      force: force ? '1' : undefined,
      link: ctx.flags.bool('link') ? '1' : undefined,
      v: ctx.flags.bool('volumes') ? '1' : undefined,
    };
    const errors = await parallel(ctx.args, async (n) => {
      const id = n.replace(/^\/+|\/+$/g, '');
      if (id === '') throw new StatusError('Container name cannot be empty', 1);
      await client.call('DELETE', containerPath(id), { query });
    });
    const messages: string[] = [];
    ctx.args.forEach((n, i) => {
      const e = errors[i];
      if (e === null || e === undefined) ctx.io.stdout.write(`${n}\n`);
      else if (force && e instanceof DaemonError && e.status === 404) ctx.io.stderr.write(`${e.message}\n`);
      else messages.push(e.message);
    });
    if (messages.length > 0) throw new StatusError(messages.join('\n'), 1);
  },
};

export const wait: Command = {
  name: 'wait',
  aliasPaths: ['container wait', 'wait'],
  usage: 'CONTAINER [CONTAINER...]',
  short: 'Block until one or more containers stop, then print their exit codes',
  flags: [],
  args: { kind: 'min', n: 1 },
  async run(ctx) {
    const client = ctx.client();
    const failed: string[] = [];
    for (const n of ctx.args) {
      try {
        const res = await streamRequest(client, 'POST', containerPath(n, 'wait'));
        const text = await new Promise<string>((resolve) => {
          const chunks: Buffer[] = [];
          res.res.on('data', (c: Buffer) => chunks.push(c));
          res.res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        });
        const r = JSON.parse(text) as { StatusCode?: unknown; Error?: { Message?: unknown } | null };
        if (r.Error !== null && r.Error !== undefined && typeof r.Error.Message === 'string' && r.Error.Message !== '') {
          ctx.io.stderr.write(`${r.Error.Message}\n`);
          failed.push(n);
          continue;
        }
        ctx.io.stdout.write(`${typeof r.StatusCode === 'number' ? r.StatusCode : 0}\n`);
      } catch (e) {
        if (!(e instanceof StatusError) && !(e instanceof SyntaxError)) throw e;
        ctx.io.stderr.write(`${(e as Error).message}\n`);
        failed.push(n);
      }
    }
    if (failed.length > 0) throw new StatusError(failed.join('\n'), 1);
  },
};

export const start: Command = {
  name: 'start',
  aliasPaths: ['container start', 'start'],
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Start one or more stopped containers',
  flags: [
    { name: 'attach', short: 'a', kind: 'bool', usage: 'Attach STDOUT/STDERR and forward signals' },
    { name: 'detach-keys', kind: 'string', usage: 'Override the key sequence for detaching a container' },
    { name: 'interactive', short: 'i', kind: 'bool', usage: "Attach container's STDIN" },
  ],
  args: { kind: 'min', n: 1 },
  async run(ctx) {
    const client = ctx.client();
    const attach = ctx.flags.bool('attach') || ctx.flags.bool('interactive');
    if (attach) {
      if (ctx.args.length > 1) throw new StatusError('you cannot start and attach multiple containers at once', 1);
      const ref = ctx.args[0] as string;
      const info = JSON.parse(await client.call('GET', containerPath(ref, 'json'))) as {
        Id?: string;
        Config?: { Tty?: boolean; OpenStdin?: boolean };
        HostConfig?: { AutoRemove?: boolean };
      };
      const id = info.Id ?? ref;
      const tty = info.Config?.Tty === true;
      const stdin = ctx.flags.bool('interactive') && info.Config?.OpenStdin === true;
      const conn = await hijack(client, containerPath(id, 'attach'), {
        query: { stream: '1', stdin: stdin ? '1' : undefined, stdout: '1', stderr: '1' },
      });
      const stream = pumpHijacked(ctx.io, conn, tty, stdin);
      const waiting = await streamRequest(client, 'POST', containerPath(id, 'wait'), {
        query: { condition: info.HostConfig?.AutoRemove === true ? 'removed' : 'next-exit' },
      }).catch((e: Error) => e);
      try {
        await client.call('POST', containerPath(id, 'start'));
      } catch (e) {
        stream.close();
        if (!(waiting instanceof Error)) waiting.abort();
        throw e;
      }
      try {
        await stream.done;
      } finally {
        stream.close();
      }
      const status = await waitStatus(ctx.io, waiting);
      if (status !== 0) throw new StatusError('', status);
      return 0;
    }
    const failed: string[] = [];
    for (const n of ctx.args) {
      try {
        await client.call('POST', containerPath(n, 'start'));
        ctx.io.stdout.write(`${n}\n`);
      } catch (e) {
        if (!(e instanceof StatusError)) throw e;
        ctx.io.stderr.write(`${e.message}\n`);
        failed.push(n);
      }
    }
    if (failed.length > 0) throw new StatusError(`Error: failed to start containers: ${failed.join(', ')}`, 1);
    return 0;
  },
};
