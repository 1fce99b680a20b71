/**
 * Embedded DNS with real containers, the real docker CLI, busybox nslookup/ping and dig run
 * inside container netns (nsenter --net=<SandboxKey>), against berthd in a throwaway host netns.
 *
 * Upstream: a fake DNS server (test/helpers/fake-dns.ts) run by this process on sockets the
 * native addon opens inside the test's host netns, on 198.18.53.1:53 (an address this test
 * puts on that netns's lo). berthd is started with `--dns 198.18.53.1`, so no query can ever go
 * to a real resolver. 198.18.53.2 is on lo with nothing listening (a dead upstream);
 * 198.18.53.3 takes queries and never answers (a silent one).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadNative } from '../../src/kernel/native.js';
import { FakeDns } from '../helpers/fake-dns.js';
import { isRoot, run, TestHost, type RunResult } from '../helpers/host.js';

const ROOT = isRoot();
const SKIP = ROOT ? false : 'needs root: creates network namespaces and runs containers';
if (!ROOT) console.warn('SKIPPED: embedded DNS integration tests need root');

const UPSTREAM = '198.18.53.1';
const DEAD = '198.18.53.2';
const SILENT = '198.18.53.3';
const DAEMON_ARGS = ['--dns', UPSTREAM];

function ok(r: RunResult, what: string): string {
  assert.equal(r.status, 0, `${what} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

interface Dig {
  readonly status: string;
  readonly flags: string;
  /** `name ttl type data` per answer record. */
  readonly answers: string[];
  readonly ms: number;
}

/**
 * Runs a command without blocking the event loop: the fake upstream lives in this process, so
 * anything that may be forwarded to it must not use the synchronous helpers.
 */
function runAsync(cmd: string, args: readonly string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, [...args], { encoding: 'utf8', timeout: opts.timeoutMs ?? 30_000, env: opts.env ?? process.env }, (err, stdout, stderr) => {
      const status = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null;
      resolve({ status, stdout, stderr });
    });
  });
}

/** dig inside a netns against the embedded DNS; one try, bounded. */
async function dig(netns: string, args: readonly string[], timeSec = 3): Promise<Dig> {
  const t = Date.now();
  const r = await runAsync('nsenter', [`--net=${netns}`, 'dig', '@127.0.0.11', '+tries=1', `+time=${timeSec}`, ...args], { timeoutMs: (timeSec + 5) * 1000 });
  const ms = Date.now() - t;
  const status = /status: (\w+)/.exec(r.stdout)?.[1] ?? `no answer (exit ${r.status}): ${r.stdout}${r.stderr}`;
  const flags = /;; flags: ([^;]*);/.exec(r.stdout)?.[1]?.trim() ?? '';
  const section = r.stdout.split(';; ANSWER SECTION:\n')[1]?.split('\n\n')[0] ?? '';
  const answers = section
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [name, ttl, , type, ...data] = l.split(/\s+/);
      return `${name} ${ttl} ${type} ${data.join(' ')}`;
    });
  return { status, flags, answers, ms };
}

/** `dig +short`: the answer data lines. */
async function digShort(netns: string, name: string): Promise<string[]> {
  const r = await runAsync('nsenter', [`--net=${netns}`, 'dig', '@127.0.0.11', '+tries=1', '+time=3', '+short', name]);
  return r.stdout.trim().split('\n').filter((l) => l !== '');
}

describe('embedded DNS (127.0.0.11) on user-defined networks', { skip: SKIP }, () => {
  let host: TestHost;
  let fake: FakeDns | undefined;
  let silent: FakeDns | undefined;
  const key = new Map<string, string>();
  const ip = new Map<string, string>();

  const docker = (args: string[], what = `docker ${args.join(' ')}`): string => ok(host.docker(args), what);
  const runContainer = (name: string, ...opts: string[]): void => {
    docker(['run', '-d', '--name', name, ...opts, 'busybox', 'sleep', '600']);
    key.set(name, docker(['inspect', '-f', '{{.NetworkSettings.SandboxKey}}', name]).trim());
    ip.set(name, docker(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', name]).trim().split(' ')[0] ?? '');
  };
  const keyOf = (name: string): string => key.get(name) ?? assert.fail(`no sandbox key for ${name}`);
  /** The docker CLI without blocking the event loop (host.docker's environment). */
  const dockerAsync = (args: string[]): Promise<RunResult> =>
    runAsync('docker', ['-H', `unix://${host.socket}`, ...args], { env: { ...process.env, DOCKER_CONFIG: path.join(host.dir, 'docker-config') } });

  before(async () => {
    host = await TestHost.start('berth-itdns', DAEMON_ARGS);
    for (const a of [UPSTREAM, DEAD, SILENT]) ok(host.inHost('ip', ['addr', 'add', `${a}/32`, 'dev', 'lo']), `address ${a}`);
    const native = loadNative();
    fake = FakeDns.fromFds(native.socketInNetns(host.netnsPath, 'udp', UPSTREAM, 53), native.socketInNetns(host.netnsPath, 'tcp', UPSTREAM, 53));
    silent = FakeDns.fromFds(native.socketInNetns(host.netnsPath, 'udp', SILENT, 53), native.socketInNetns(host.netnsPath, 'tcp', SILENT, 53));
    silent.silent = true;
    // Seed 003: c1, c2 on the default bridge; c3, c4 on new-bridge.
    docker(['network', 'create', 'new-bridge']);
    runContainer('c1');
    runContainer('c2');
    runContainer('c3', '--network', 'new-bridge');
    runContainer('c4', '--network', 'new-bridge', '--hostname', 'box4');
  });

  after(async () => {
    fake?.close();
    silent?.close();
    if (host !== undefined) {
      for (const c of host.docker(['ps', '-aq']).stdout.split('\n').filter((x) => x !== '')) host.docker(['rm', '-f', c]);
      await host.cleanup();
    }
  });

  it('seed 003: c3 pings c4 by name on new-bridge; c1 cannot ping c2 by name on the default bridge', async () => {
    const good = host.docker(['exec', 'c3', 'ping', '-c1', '-W1', 'c4']);
    assert.equal(good.status, 0, good.stdout + good.stderr);
    assert.match(good.stdout, new RegExp(`PING c4 \\(${ip.get('c4')?.replace(/\./g, '\\.')}\\)`));
    const bad = await dockerAsync(['exec', 'c1', 'ping', '-c1', '-W1', 'c2']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stdout + bad.stderr, /bad address 'c2'/);
  });

  it('resolv.conf: 127.0.0.11 with ndots:0 on new-bridge, the --dns server on the default bridge', async () => {
    assert.match(docker(['exec', 'c3', 'cat', '/etc/resolv.conf']), /^nameserver 127\.0\.0\.11$[\s\S]*^options ndots:0$/m);
    assert.match(docker(['exec', 'c1', 'cat', '/etc/resolv.conf']), new RegExp(`^nameserver ${UPSTREAM.replace(/\./g, '\\.')}$`, 'm'));
  });

  it('listens on 127.0.0.11:53 (UDP and TCP) inside the container netns', async () => {
    const ss = ok(run('nsenter', [`--net=${keyOf('c3')}`, 'ss', '-lnut']), 'ss');
    assert.match(ss, /udp\s+UNCONN\s+\d+\s+\d+\s+127\.0\.0\.11:53\s/);
    assert.match(ss, /tcp\s+LISTEN\s+\d+\s+\d+\s+127\.0\.0\.11:53\s/);
    const none = ok(run('nsenter', [`--net=${keyOf('c1')}`, 'ss', '-lnut']), 'ss in c1');
    assert.doesNotMatch(none, /127\.0\.0\.11/);
  });

  it('busybox nslookup c4 from c3', async () => {
    const out = docker(['exec', 'c3', 'nslookup', 'c4']);
    assert.match(out, /Server:\s+127\.0\.0\.11/);
    assert.match(out, new RegExp(`Name:\\s+c4\\s+Address: ${ip.get('c4')?.replace(/\./g, '\\.')}`));
  });

  it('dig: A for name, hostname, short ID, name.network; TTL 600; AAAA empty NOERROR; PTR', async () => {
    const c4 = ip.get('c4') ?? '';
    const id4 = docker(['inspect', '-f', '{{.Id}}', 'c4']).trim().slice(0, 12);
    for (const name of ['c4', 'box4', id4, 'c4.new-bridge', 'C4.NEW-BRIDGE']) {
      const d = await dig(keyOf('c3'), [name]);
      assert.equal(d.status, 'NOERROR', name);
      assert.deepEqual(d.answers, [`${name}. 600 A ${c4}`]);
      assert.match(d.flags, /\bqr\b.*\brd\b.*\bra\b/);
    }
    const aaaa = await dig(keyOf('c3'), ['c4', 'AAAA']);
    assert.equal(aaaa.status, 'NOERROR');
    assert.deepEqual(aaaa.answers, []);
    const ptr = await dig(keyOf('c3'), ['-x', c4]);
    assert.equal(ptr.status, 'NOERROR');
    assert.deepEqual(ptr.answers, [`${c4.split('.').reverse().join('.')}.in-addr.arpa. 600 PTR c4.new-bridge.`]);
  });

  it('a container in container: mode shares its owner\'s resolver', async () => {
    docker(['run', '-d', '--name', 'joiner', '--network', 'container:c3', 'busybox', 'sleep', '600']);
    assert.match(docker(['exec', 'joiner', 'cat', '/etc/resolv.conf']), /^nameserver 127\.0\.0\.11$/m);
    assert.match(docker(['exec', 'joiner', 'nslookup', 'c4']), new RegExp(`Address: ${ip.get('c4')?.replace(/\./g, '\\.')}`));
    docker(['rm', '-f', 'joiner']);
  });

  it(
    'answers a container\'s very first query (docker run --rm … nslookup)',
    async () => {
      for (let i = 0; i < 5; i++) {
        const r = await dockerAsync(['run', '--rm', '--network', 'new-bridge', 'busybox', 'nslookup', 'c4']);
        assert.equal(r.status, 0, `run ${i}: ${r.stdout}${r.stderr}`);
      }
    },
  );

  it('dig +tcp', async () => {
    const d = await dig(keyOf('c3'), ['+tcp', 'c4']);
    assert.equal(d.status, 'NOERROR');
    assert.deepEqual(d.answers, [`c4. 600 A ${ip.get('c4')}`]);
  });

  it('round robin: several containers with --network-alias web, all addresses, in varying order', async () => {
    for (const w of ['w1', 'w2', 'w3']) runContainer(w, '--network', 'new-bridge', '--network-alias', 'web');
    const want = ['w1', 'w2', 'w3'].map((w) => ip.get(w)).sort();
    const orders = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const ips = await digShort(keyOf('c3'), 'web');
      assert.deepEqual([...ips].sort(), want);
      orders.add(ips.join(','));
    }
    assert.ok(orders.size >= 2, `always the same order: ${[...orders].join(' / ')}`);
    // The alias is scoped to new-bridge: `web.new-bridge` works, `w1` by name too.
    assert.equal((await dig(keyOf('c3'), ['web.new-bridge'])).answers.length, 3);
    assert.deepEqual((await dig(keyOf('c3'), ['w1'])).answers, [`w1. 600 A ${ip.get('w1')}`]);
  });

  it('unknown names are forwarded (NXDOMAIN from upstream); other names resolve through it', async () => {
    const seen = fake!.seen.length;
    const nx = await dig(keyOf('c3'), ['nosuch']);
    assert.equal(nx.status, 'NXDOMAIN');
    const www = await dig(keyOf('c3'), ['www.example.test']);
    assert.equal(www.status, 'NOERROR');
    assert.deepEqual(www.answers, ['www.example.test. 60 A 192.0.2.1']);
    assert.deepEqual(fake!.seen.slice(seen).map((s) => s.name), ['nosuch', 'www.example.test']);
    // Container names never reach the upstream.
    assert.ok(!fake!.seen.some((s) => ['c4', 'web', 'box4'].includes(s.name.toLowerCase())));
  });

  it('large forwarded answers arrive whole (TCP to the upstream on truncation)', async () => {
    const d = await dig(keyOf('c3'), ['+noedns', 'big.example.test', 'TXT']);
    assert.equal(d.status, 'NOERROR');
    assert.equal(d.answers.length, 10);
    assert.ok(fake!.seen.some((s) => s.name === 'big.example.test' && s.transport === 'tcp'));
  });

  it('names on a network c3 does not share do not resolve', async () => {
    docker(['network', 'create', 'other']);
    runContainer('far', '--network', 'other');
    assert.equal((await dig(keyOf('c3'), ['far'])).status, 'NXDOMAIN');
    assert.equal((await dig(keyOf('c3'), ['far.other'])).status, 'NXDOMAIN');
    assert.equal((await dig(keyOf('far'), ['c4'])).status, 'NXDOMAIN');
    assert.equal((await dig(keyOf('far'), ['far'])).answers.length, 1);
  });

  it('follows connect, disconnect, stop and start on the very next query', async () => {
    docker(['network', 'connect', 'new-bridge', 'c1']);
    const c1 = docker(['inspect', '-f', '{{(index .NetworkSettings.Networks "new-bridge").IPAddress}}', 'c1']).trim();
    assert.deepEqual((await dig(keyOf('c3'), ['c1'])).answers, [`c1. 600 A ${c1}`]);
    // c1 now uses the embedded DNS too.
    assert.equal(host.docker(['exec', 'c1', 'ping', '-c1', '-W1', 'c4']).status, 0);
    docker(['network', 'disconnect', 'new-bridge', 'c1']);
    assert.equal((await dig(keyOf('c3'), ['c1'])).status, 'NXDOMAIN');
    docker(['stop', '-t', '0', 'c4']);
    assert.equal((await dig(keyOf('c3'), ['c4'])).status, 'NXDOMAIN');
    docker(['start', 'c4']);
    key.set('c4', docker(['inspect', '-f', '{{.NetworkSettings.SandboxKey}}', 'c4']).trim());
    assert.deepEqual((await dig(keyOf('c3'), ['c4'])).answers, [`c4. 600 A ${ip.get('c4')}`]);
    // The restarted c4 has its own resolver again.
    assert.equal((await dig(keyOf('c4'), ['c3'])).answers.length, 1);
  });

  it('a dead upstream gives SERVFAIL at once; a silent one within the timeout', async () => {
    runContainer('deadns', '--network', 'new-bridge', '--dns', DEAD);
    runContainer('slowns', '--network', 'new-bridge', '--dns', SILENT);
    const dead = await dig(keyOf('deadns'), ['www.example.test'], 6);
    assert.equal(dead.status, 'SERVFAIL');
    assert.ok(dead.ms < 1000, `dead upstream took ${dead.ms} ms`);
    const slow = await dig(keyOf('slowns'), ['www.example.test'], 8);
    assert.equal(slow.status, 'SERVFAIL');
    assert.ok(slow.ms < 5000, `silent upstream took ${slow.ms} ms`);
    // Its own names still resolve.
    assert.equal((await dig(keyOf('deadns'), ['c3'])).answers.length, 1);
  });

  it('survives malformed packets (UDP junk, broken TCP frames) and keeps answering', async () => {
    const fd = loadNative().socketInNetns(keyOf('c3'), 'udp', '127.0.0.1', 0);
    const s = dgram.createSocket('udp4');
    s.bind({ fd });
    let seed = 3;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    const formerr = await new Promise<number>((resolve) => {
      let answers = 0;
      s.on('message', (m) => {
        if ((m.readUInt16BE(2) & 0xf) === 1) answers++;
      });
      for (let i = 0; i < 500; i++) {
        const b = Buffer.alloc(rnd() % 100);
        for (let j = 0; j < b.length; j++) b[j] = rnd() & 0xff;
        s.send(b, 53, '127.0.0.11');
      }
      // A header that parses, with no question: FORMERR.
      s.send(Buffer.from([0xbe, 0xef, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 53, '127.0.0.11');
      setTimeout(() => resolve(answers), 300);
    });
    s.close();
    assert.ok(formerr >= 1, 'a FORMERR answer');
    const tcpJunk = run('nsenter', [`--net=${keyOf('c3')}`, 'sh', '-c', 'printf "\\377\\377junk" | timeout 2 nc -w1 127.0.0.11 53; true']);
    assert.equal(tcpJunk.status, 0);
    assert.equal((await dig(keyOf('c3'), ['+tries=3', 'c4'])).status, 'NOERROR');
    assert.equal(host.pid !== undefined && run('kill', ['-0', String(host.pid)]).status === 0, true, 'berthd alive');
  });

  it('closes a sandbox\'s sockets when it goes (no fd held on a dead netns)', async () => {
    const sockets = (): number => {
      const dir = `/proc/${host.pid}/fd`;
      return readdirSync(dir).filter((f) => {
        try {
          return readlinkSync(`${dir}/${f}`).startsWith('socket:');
        } catch {
          return false;
        }
      }).length;
    };
    const settle = async (want: number | undefined): Promise<number> => {
      let n = sockets();
      for (let i = 0; i < 40 && (want === undefined ? false : n !== want); i++) {
        await new Promise((r) => setTimeout(r, 50));
        n = sockets();
      }
      return n;
    };
    await new Promise((r) => setTimeout(r, 200));
    const base = await settle(undefined);
    runContainer('brief', '--network', 'new-bridge');
    assert.ok((await settle(base + 2)) >= base + 2, 'sockets for the new sandbox');
    docker(['rm', '-f', 'brief']);
    assert.equal(await settle(base), base, 'back to the sockets held before');
  });

  it('keeps answering across a berthd restart and a crash', async () => {
    await host.stopDaemon();
    await host.startDaemon(DAEMON_ARGS);
    assert.deepEqual((await dig(keyOf('c3'), ['c4'])).answers, [`c4. 600 A ${ip.get('c4')}`]);
    assert.equal((await dig(keyOf('c3'), ['www.example.test'])).status, 'NOERROR');
    await host.killDaemon();
    await host.startDaemon(DAEMON_ARGS);
    assert.deepEqual((await dig(keyOf('c3'), ['+tcp', 'c4'])).answers, [`c4. 600 A ${ip.get('c4')}`]);
    assert.equal(host.docker(['exec', 'c3', 'ping', '-c1', '-W1', 'c4']).status, 0);
  });
});
