/**
 * TCP throughput with iperf3 between two network namespaces: a one-off server (`-s -1`) in one,
 * the client in the other, one stream for a few seconds. Both run on the host through nsenter
 * (the containers' images need no iperf3). Traffic stays inside namespaces the benchmark made.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { alive, exec, execOk, lastLines, onCleanup, randomSuffix, sleep } from './util.js';

export interface IperfResult {
  /** Receiver-side throughput, Gbit/s. */
  readonly gbps: number;
  readonly seconds: number;
}

/**
 * Runs an iperf3 server in `serverNs` (listening on `listenPort`) and a client in `clientNs`
 * connecting to `target:port` (the port differs from `listenPort` through a published port).
 */
export async function iperf(opts: {
  serverNs: string;
  clientNs: string;
  target: string;
  port: number;
  listenPort: number;
  seconds: number;
}): Promise<IperfResult> {
  const server = spawn('nsenter', [`--net=${opts.serverNs}`, 'iperf3', '-s', '-1', '-p', String(opts.listenPort)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let serverErr = '';
  server.stderr?.on('data', (d: Buffer) => (serverErr += d.toString()));
  const pid = server.pid;
  const stop = onCleanup(`iperf3 server ${pid ?? '?'}`, () => {
    if (pid !== undefined && server.exitCode === null && alive(pid)) server.kill('SIGKILL');
  });
  try {
    let last = '';
    for (let attempt = 0; attempt < 20; attempt++) {
      await sleep(attempt === 0 ? 150 : 150);
      if (server.exitCode !== null) throw new Error(`iperf3 server exited ${server.exitCode}: ${lastLines(serverErr, 3)}`);
      const r = await exec(
        'nsenter',
        [`--net=${opts.clientNs}`, 'iperf3', '-c', opts.target, '-p', String(opts.port), '-t', String(opts.seconds), '-J', '--connect-timeout', '2000'],
        { timeoutMs: (opts.seconds + 20) * 1000 },
      );
      let parsed: any;
      try {
        parsed = JSON.parse(r.stdout);
      } catch {
        parsed = undefined;
      }
      const bps = parsed?.end?.sum_received?.bits_per_second;
      if (r.code === 0 && typeof bps === 'number') return { gbps: bps / 1e9, seconds: opts.seconds };
      last = String(parsed?.error ?? lastLines(r.stderr || r.stdout, 2));
      // "Connection refused" while the server is still starting: try again; anything else
      // (no route, timeout) will not get better.
      if (!/refused/i.test(last)) break;
    }
    throw new Error(`iperf3 ${opts.target}:${opts.port}: ${last}`);
  } finally {
    await stop();
  }
}

/**
 * A client namespace `bench-cl-<hex>` joined by a veth pair to `hostNetns` (a namespace the
 * benchmark made): host side `hostAddr/24`, client side `clientAddr/24`. For traffic that
 * reaches a daemon's host from outside, as to a published port. Removed by the returned function.
 */
export async function makeClientNetns(hostNetns: string, hostAddr: string, clientAddr: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const name = `bench-cl-${randomSuffix(3)}`;
  const hostIf = `bcl${randomSuffix(2)}`;
  const remove = onCleanup(`client netns ${name}`, async () => {
    if (fs.existsSync(`/run/netns/${name}`)) await exec('ip', ['netns', 'del', name]);
    await exec('nsenter', [`--net=${hostNetns}`, 'ip', 'link', 'del', hostIf]);
  });
  try {
    await execOk('ip', ['netns', 'add', name]);
    await execOk('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    // Created inside the host netns with its peer moved straight into the client netns: never
    // in the root netns.
    await execOk('nsenter', [`--net=${hostNetns}`, 'ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name]);
    await execOk('nsenter', [`--net=${hostNetns}`, 'ip', 'addr', 'add', `${hostAddr}/24`, 'dev', hostIf]);
    await execOk('nsenter', [`--net=${hostNetns}`, 'ip', 'link', 'set', hostIf, 'up']);
    await execOk('ip', ['-n', name, 'addr', 'add', `${clientAddr}/24`, 'dev', 'eth0']);
    await execOk('ip', ['-n', name, 'link', 'set', 'eth0', 'up']);
  } catch (err) {
    await remove();
    throw err;
  }
  return { path: `/run/netns/${name}`, remove };
}
