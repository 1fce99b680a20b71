/**
 * `berth exec`, `berth logs`, `berth port` — docker CLI 28.2.2's `container/exec.go`,
 * `logs.go` and `port.go`.
 *
 * exec: inspect the container first (so "No such container" wins), refuse `-it` without a
 * terminal, `POST /containers/{id}/exec`, then `POST /exec/{id}/start` — hijacked and
 * demultiplexed, or plain with `-d` — and finally `GET /exec/{id}/json` for the exit status,
 * which becomes berth's.
 *
 * logs: inspect (for the tty flag, which decides raw vs multiplexed) then
 * `GET /containers/{id}/logs?stdout=1&stderr=1&tail=…` streamed to stdout/stderr.
 *
 * port: `NetworkSettings.Ports` of the inspect answer, lines in natural order.
 */
import { type Command, StatusError } from '../command.js';
import { goPathEscape } from '../client.js';
import { ExecCreateRequest, ExecStartRequest } from '../docker-types.js';
import { decodeTyped, encodeJson, plainToJsonNode } from '../go-value.js';
import { StdDemuxer, hijack, streamRequest } from '../hijack.js';
import { expandEnv, readKvFile, validateEnv } from '../validators.js';
import { naturalLess } from './network.js';
import { joinHostPort } from './ps.js';
import { pumpHijacked } from './run.js';

const containerPath = (id: string, action = ''): string => `/containers/${goPathEscape(id)}${action === '' ? '' : '/' + action}`;

export const exec: Command = {
  name: 'exec',
  aliasPaths: ['container exec', 'exec'],
  usage: '[OPTIONS] CONTAINER COMMAND [ARG...]',
  short: 'Execute a command in a running container',
  flags: [
    { name: 'detach', short: 'd', kind: 'bool', usage: 'Detached mode: run command in the background' },
    { name: 'detach-keys', kind: 'string', usage: 'Override the key sequence for detaching a container' },
    { name: 'env', short: 'e', kind: 'list', usage: 'Set environment variables', validate: validateEnv },
    { name: 'env-file', kind: 'list', usage: 'Read in a file of environment variables' },
    { name: 'interactive', short: 'i', kind: 'bool', usage: 'Keep STDIN open even if not attached' },
    { name: 'privileged', kind: 'bool', usage: 'Give extended privileges to the command' },
    { name: 'tty', short: 't', kind: 'bool', usage: 'Allocate a pseudo-TTY' },
    { name: 'user', short: 'u', kind: 'string', usage: 'Username or UID (format: "<name|uid>[:<group|gid>]")' },
    { name: 'workdir', short: 'w', kind: 'string', usage: 'Working directory inside the container' },
  ],
  args: { kind: 'min', n: 2 },
  interspersed: false,
  async run(ctx) {
    const { flags, io } = ctx;
    const ref = ctx.args[0] as string;
    const cmd = ctx.args.slice(1);
    const detach = flags.bool('detach');
    const tty = flags.bool('tty');
    const stdin = flags.bool('interactive');
    let env: string[];
    try {
      env = [
        ...flags.strings('env-file').flatMap((f) => readKvFile(f, (k) => io.env[k])),
        ...flags.strings('env').map((v) => expandEnv(v, io.env)),
      ];
    } catch (e) {
      throw new StatusError((e as Error).message, 1);
    }
    const client = ctx.client();
    await client.call('GET', containerPath(ref, 'json'));
    if (!detach && stdin && tty && (io.stdin as { isTTY?: boolean }).isTTY !== true) {
      throw new StatusError('the input device is not a TTY', 1);
    }
    const consoleSize = tty ? [0, 0] : null;
    const body = encodeJson(
      decodeTyped(
        ExecCreateRequest,
        plainToJsonNode({
          User: flags.string('user'),
          Privileged: flags.bool('privileged'),
          Tty: tty,
          ConsoleSize: consoleSize,
          AttachStdin: stdin && !detach,
          AttachStderr: !detach,
          AttachStdout: !detach,
          Detach: detach,
          DetachKeys: flags.string('detach-keys'),
          Env: env.length > 0 ? env : null,
          WorkingDir: flags.string('workdir'),
          Cmd: cmd,
        }),
      ),
      { escapeHtml: true },
    );
    const created = JSON.parse(await client.call('POST', containerPath(ref, 'exec'), { json: body })) as { Id?: unknown };
    const id = typeof created.Id === 'string' ? created.Id : '';
    if (id === '') throw new StatusError('exec ID empty', 1);
    const startBody = encodeJson(decodeTyped(ExecStartRequest, plainToJsonNode({ Detach: detach, Tty: tty, ConsoleSize: consoleSize })), {
      escapeHtml: true,
    });
    const startPath = `/exec/${goPathEscape(id)}/start`;
    if (detach) {
      await client.call('POST', startPath, { json: startBody });
      return 0;
    }
    const conn = await hijack(client, startPath, { json: startBody });
    const stream = pumpHijacked(io, conn, tty, stdin);
    try {
      await stream.done;
    } catch (e) {
      throw new StatusError((e as Error).message, 1);
    } finally {
      stream.close();
    }
    const info = JSON.parse(await client.call('GET', `/exec/${goPathEscape(id)}/json`)) as { ExitCode?: unknown };
    const code = typeof info.ExitCode === 'number' ? info.ExitCode : 0;
    if (code !== 0) throw new StatusError('', code);
    return 0;
  },
};

export const logs: Command = {
  name: 'logs',
  aliasPaths: ['container logs', 'logs'],
  usage: '[OPTIONS] CONTAINER',
  short: 'Fetch the logs of a container',
  flags: [
    { name: 'details', kind: 'bool', usage: 'Show extra details provided to logs' },
    { name: 'follow', short: 'f', kind: 'bool', usage: 'Follow log output' },
    {
      name: 'since',
      kind: 'string',
      usage: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
    },
    { name: 'tail', short: 'n', kind: 'string', default: 'all', usage: 'Number of lines to show from the end of the logs' },
    { name: 'timestamps', short: 't', kind: 'bool', usage: 'Show timestamps' },
    {
      name: 'until',
      kind: 'string',
      usage: 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
    },
  ],
  args: { kind: 'exact', n: 1 },
  async run(ctx) {
    const { flags, io } = ctx;
    const client = ctx.client();
    const ref = ctx.args[0] as string;
    const info = JSON.parse(await client.call('GET', containerPath(ref, 'json'))) as { Id?: string; Config?: { Tty?: boolean } };
    const res = await streamRequest(client, 'GET', containerPath(info.Id ?? ref, 'logs'), {
      query: {
        stdout: '1',
        stderr: '1',
        since: flags.string('since') === '' ? undefined : flags.string('since'),
        until: flags.string('until') === '' ? undefined : flags.string('until'),
        timestamps: flags.bool('timestamps') ? '1' : undefined,
        follow: flags.bool('follow') ? '1' : undefined,
        tail: flags.string('tail'),
        details: flags.bool('details') ? '1' : undefined,
      },
    });
    const demux = new StdDemuxer(io, info.Config?.Tty === true);
    await new Promise<void>((resolve, reject) => {
      res.res.on('data', (c: Buffer) => {
        try {
          demux.push(c);
        } catch (e) {
          res.abort();
          reject(new StatusError((e as Error).message, 1));
        }
      });
      res.res.on('end', () => resolve());
      res.res.on('error', (e) => reject(e));
    });
    demux.end();
  },
};

export const port: Command = {
  name: 'port',
  aliasPaths: ['container port', 'port'],
  usage: 'CONTAINER [PRIVATE_PORT[/PROTO]]',
  short: 'List port mappings or a specific mapping for the container',
  flags: [],
  args: { kind: 'range', min: 1, max: 2 },
  async run(ctx) {
    const ref = ctx.args[0] as string;
    const info = JSON.parse(await ctx.client().call('GET', containerPath(ref, 'json'))) as {
      NetworkSettings?: { Ports?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null };
    };
    const ports = info.NetworkSettings?.Ports ?? {};
    const out: string[] = [];
    const wanted = ctx.args[1];
    if (wanted !== undefined) {
      const slash = wanted.indexOf('/');
      const num = slash < 0 ? wanted : wanted.slice(0, slash);
      const proto = slash < 0 || wanted.slice(slash + 1) === '' ? 'tcp' : wanted.slice(slash + 1);
      if (!/^[0-9]+$/.test(num) || Number(num) > 65535) {
        const why = /^[0-9]+$/.test(num) ? 'value out of range' : 'invalid syntax';
        throw new StatusError(`Error: invalid port (${num}): strconv.ParseUint: parsing ${JSON.stringify(num)}: ${why}`, 1);
      }
      const frontends = ports[`${num}/${proto}`];
      if (frontends === undefined || frontends === null || frontends.length === 0) {
        throw new StatusError(`Error: No public port '${wanted}' published for ${ref}`, 1);
      }
      for (const f of frontends) out.push(joinHostPort(f.HostIp ?? '', f.HostPort ?? ''));
    } else {
      for (const [from, frontends] of Object.entries(ports)) {
        for (const f of frontends ?? []) out.push(`${from} -> ${joinHostPort(f.HostIp ?? '', f.HostPort ?? '')}`);
      }
    }
    if (out.length > 0) {
      out.sort((a, b) => (naturalLess(a, b) ? -1 : naturalLess(b, a) ? 1 : 0));
      ctx.io.stdout.write(out.join('\n') + '\n');
    }
  },
};
