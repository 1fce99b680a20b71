/**
 * Test helpers for the CLI: a fake Docker Engine API (node:http on a unix socket in a fresh
 * temp dir) that records every request and answers from a route function, canned Docker JSON
 * shaped like a 1.47 daemon's, and `runCli`, which runs `main` in-process with collected streams.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { main } from '../../../src/cli/main.js';

/** A request as the fake daemon received it. */
export interface RecordedRequest {
  readonly method: string;
  /** True for a hijack request (`Connection: Upgrade`, `Upgrade: tcp`). */
  readonly upgrade?: boolean;
  /** Path and query, e.g. `/v1.48/networks?filters=%7B%7D`. */
  readonly url: string;
  readonly contentType: string | undefined;
  readonly body: string;
}

/** What a route answers: status, and a JSON value (serialised as Docker does) or raw text. */
export interface FakeResponse {
  readonly status: number;
  readonly json?: unknown;
  readonly text?: string;
  readonly contentType?: string;
  /**
   * For a hijacked request (`Connection: Upgrade`): the bytes sent after `101 UPGRADED`, then
   * the connection is closed. Without it an upgrade request gets a plain HTTP answer.
   */
  readonly upgrade?: Buffer;
  /** For a hijacked request: called with what the client writes on the upgraded connection. */
  readonly onStdin?: (data: Buffer) => void;
}

export type Route = (req: RecordedRequest) => FakeResponse;

/** A running fake daemon. */
export interface FakeEngine {
  readonly socketPath: string;
  /** `unix://<socketPath>`, for `-H` or `BERTH_HOST`. */
  readonly host: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Starts a fake daemon answering with `route`; close it with `t.after(() => engine.close())`. */
export async function startFakeEngine(route: Route): Promise<FakeEngine> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-cli-'));
  const socketPath = join(dir, 'engine.sock');
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rec: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(rec);
      const out = route(rec);
      const body = out.json !== undefined ? JSON.stringify(out.json) + '\n' : (out.text ?? '');
      const headers: Record<string, string> = { 'Api-Version': '1.47' };
      if (body !== '') headers['Content-Type'] = out.contentType ?? (out.json !== undefined ? 'application/json' : 'text/plain');
      res.writeHead(out.status, headers);
      res.end(body);
    });
  });
  // attach and exec start hijack the connection; Node hands those to 'upgrade'.
  server.on('upgrade', (req: http.IncomingMessage, socket: import('node:net').Socket, head: Buffer) => {
    const length = Number(req.headers['content-length'] ?? 0);
    let body = head;
    const answer = (): void => {
      socket.removeListener('data', onData);
      const rec: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        upgrade: req.headers.connection === 'Upgrade' && req.headers.upgrade === 'tcp',
        contentType: req.headers['content-type'],
        body: body.subarray(0, length).toString('utf8'),
      };
      requests.push(rec);
      const out = route(rec);
      if (out.upgrade === undefined) {
        const text = out.json !== undefined ? JSON.stringify(out.json) + '\n' : (out.text ?? '');
        socket.end(
          `HTTP/1.1 ${out.status} ${http.STATUS_CODES[out.status] ?? ''}\r\nApi-Version: 1.47\r\n` +
            `Content-Type: ${out.json !== undefined ? 'application/json' : 'text/plain'}\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
        );
        return;
      }
      if (out.onStdin !== undefined) socket.on('data', out.onStdin);
      socket.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
      socket.end(out.upgrade);
    };
    const onData = (d: Buffer): void => {
      body = Buffer.concat([body, d]);
      if (body.length >= length) answer();
    };
    socket.on('error', () => undefined);
    if (body.length >= length) answer();
    else socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    socketPath,
    host: `unix://${socketPath}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** What one CLI run produced. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A multiplexed-stream frame (`[stream, 0, 0, 0, size u32 BE]` + payload). */
export function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** Runs `berth <argv>` in-process against `host` (as BERTH_HOST unless env overrides). */
export async function runCli(
  argv: readonly string[],
  opts: { host?: string; env?: Record<string, string | undefined>; stdin?: string } = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const env: Record<string, string | undefined> = { ...(opts.host !== undefined ? { BERTH_HOST: opts.host } : {}), ...opts.env };
  const code = await main(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: Readable.from(opts.stdin === undefined ? [] : [opts.stdin]),
    env,
  });
  return { code, stdout, stderr };
}

// ---------------------------------------------------------------------------------------------
// Canned daemon data (the shapes Docker 1.47 returns)

export const BRIDGE_ID = 'b22dfcac021950145c20dac884e6579908814608d1a9e7d15afb7a8fcfeb6069';
export const PERSONAL_ID = '93e6e22b983d6a92db3e86b1a05be1006c3926be008123b45cad96487368aef4';

/** Networks as `GET /networks` returns them, deliberately not in name order. */
export const NETWORKS: readonly Record<string, unknown>[] = [
  {
    Name: 'personal',
    Id: PERSONAL_ID,
    Created: '2024-05-01T10:00:00.123456789Z',
    Scope: 'local',
    Driver: 'bridge',
    EnableIPv4: true,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: '172.21.0.0/16', IPRange: '172.21.240.0/20', Gateway: '172.21.0.1' }] },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: {},
    Options: {},
    Labels: { b: '2', a: '1' },
  },
  {
    Name: 'bridge',
    Id: BRIDGE_ID,
    Created: '2024-05-01T09:00:00.5Z',
    Scope: 'local',
    Driver: 'bridge',
    EnableIPv4: true,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }] },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: {
      '8b2cb1358266bd386d3428f654e1fb8ee6c8fe6773e2d42229bcc0ec66fd2e9f': {
        Name: 'b-nginx',
        EndpointID: 'b93c896084be44552e04d2364d155e19af3f307fb8d9aa04872cd27e8bbf5e9a',
        MacAddress: '02:42:ac:11:00:02',
        IPv4Address: '172.17.0.2/16',
        IPv6Address: '',
      },
    },
    Options: { 'com.docker.network.bridge.name': 'berth0', 'com.docker.network.bridge.default_bridge': 'true' },
    Labels: {},
  },
  {
    Name: 'none',
    Id: '80155bcf6d01aaaabbbbccccddddeeeeffff0000111122223333444455556666',
    Created: '2024-05-01T09:00:00Z',
    Scope: 'local',
    Driver: 'null',
    EnableIPv4: true,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: null },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: {},
    Options: {},
    Labels: {},
  },
  {
    Name: 'host',
    Id: '8afd246383f4aaaabbbbccccddddeeeeffff0000111122223333444455556666',
    Created: '2024-05-01T09:00:00+02:00',
    Scope: 'local',
    Driver: 'host',
    EnableIPv4: true,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: null },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: {},
    Options: {},
    Labels: {},
  },
  {
    Name: 'net10',
    Id: 'aaaa46383f4aaaabbbbccccddddeeeeffff0000111122223333444455556666',
    Created: '2024-05-01T09:00:00Z',
    Scope: 'local',
    Driver: 'bridge',
    EnableIPv4: true,
    EnableIPv6: true,
    IPAM: {
      Driver: 'default',
      Options: null,
      Config: [{ Subnet: '10.1.0.0/24', Gateway: '10.1.0.1', AuxiliaryAddresses: { host1: '10.1.0.5', a: '10.1.0.6' } }],
    },
    Internal: true,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: {},
    Options: {},
    Labels: { x: 'y' },
  },
  {
    Name: 'net9',
    Id: 'bbbb46383f4aaaabbbbccccddddeeeeffff0000111122223333444455556666',
    Created: '2024-05-01T09:00:00Z',
    Scope: 'local',
    Driver: 'bridge',
    EnableIPv4: true,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: [] },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: {},
    Options: {},
    Labels: null,
  },
];

export const CREATED_ID = 'c0ffee'.padEnd(64, '0');

/**
 * The default route: a daemon holding {@link NETWORKS}. `bridge` cannot be removed; connect to
 * container `nope` fails; prune deletes net10 and net9.
 */
export const dockerLikeRoute: Route = (req) => {
  const path = new URL(req.url, 'http://x').pathname.replace(/^\/v1\.4[78]/, '');
  if (path === '/version') {
    return {
      status: 200,
      json: {
        Platform: { Name: 'berth' },
        Components: [
          {
            Name: 'Engine',
            Version: '0.1.0',
            Details: {
              ApiVersion: '1.47',
              Arch: 'amd64',
              BuildTime: '2024-05-01T00:00:00.000000000+00:00',
              Experimental: 'false',
              GitCommit: 'abc1234',
              GoVersion: 'node v20',
              KernelVersion: '6.1.0',
              MinAPIVersion: '1.24',
              Os: 'linux',
            },
          },
        ],
        Version: '0.1.0',
        ApiVersion: '1.47',
        MinAPIVersion: '1.24',
        Os: 'linux',
        Arch: 'amd64',
      },
    };
  }
  if (path === '/info') {
    return {
      status: 200,
      json: {
        ID: 'berth-test',
        Containers: 3,
        ContainersRunning: 1,
        ContainersPaused: 0,
        ContainersStopped: 2,
        Images: 1,
        ServerVersion: '0.1.0',
        Plugins: { Network: ['bridge', 'host', 'null'] },
        KernelVersion: '6.1.0',
        OperatingSystem: 'Debian GNU/Linux 12 (bookworm)',
        OSType: 'linux',
        Architecture: 'x86_64',
        NCPU: 4,
        MemTotal: 16646086656,
        Name: 'testhost',
        DockerRootDir: '/var/lib/berth',
        Debug: false,
        ExperimentalBuild: false,
        LiveRestoreEnabled: false,
        DefaultAddressPools: [{ Base: '172.17.0.0/16', Size: 16 }],
      },
    };
  }
  if (path === '/networks' && req.method === 'GET') return { status: 200, json: NETWORKS };
  if (path === '/networks/create') return { status: 201, json: { Id: CREATED_ID, Warning: '' } };
  if (path === '/networks/prune') return { status: 200, json: { NetworksDeleted: ['net10', 'net9'] } };
  const m = /^\/networks\/([^/]+)(?:\/(connect|disconnect))?$/.exec(path);
  if (m !== null) {
    const ref = decodeURIComponent(m[1] ?? '');
    const nw = NETWORKS.find((n) => n['Name'] === ref || String(n['Id']).startsWith(ref));
    if (nw === undefined) return { status: 404, json: { message: `network ${ref} not found` } };
    if (m[2] !== undefined) {
      const body = JSON.parse(req.body) as { Container?: string };
      if (body.Container === 'nope') return { status: 404, json: { message: 'No such container: nope' } };
      return { status: 200, text: '' };
    }
    if (req.method === 'DELETE') {
      if (nw['Name'] === 'bridge') return { status: 403, json: { message: 'bridge is a pre-defined network and cannot be removed' } };
      return { status: 204, text: '' };
    }
    return { status: 200, json: nw };
  }
  return { status: 404, json: { message: 'page not found' } };
};
