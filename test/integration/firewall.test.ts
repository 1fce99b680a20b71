/**
 * The firewall with real packets: berthd in a throwaway host netns, an "outside" netns linked to
 * it by a veth (10.251.0.1/24 host side ↔ 10.251.0.2/24, and fd00:251::1/64 ↔ ::2) standing for
 * a machine on the host's LAN, busybox httpd behind `-p`, UDP through a published port, isolation
 * between networks, icc=false, --internal, masquerade as seen by the outside peer, restarts, and
 * berth's nftables tables checked after each step (`nft -j list ruleset` in the host netns).
 * Traffic only between namespaces made here; every client has a short timeout.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import path from 'node:path';
import { isRoot, REPO, run, TestHost, type RunResult } from '../helpers/host.js';

const ROOT = isRoot();
const SKIP = ROOT ? false : 'needs root: the firewall tests create network namespaces and run containers';
if (!ROOT) console.warn('SKIPPED: firewall integration tests need root');

const HOST_IP = '10.251.0.1';
const OUT_IP = '10.251.0.2';
const HOST_IP6 = 'fd00:251::1';
const OUT_IP6 = 'fd00:251::2';

/** An httpd whose /cgi-bin/ip answers the client address it sees (REMOTE_ADDR). */
const HTTPD = [
  'sh',
  '-c',
  'mkdir -p /www/cgi-bin && printf \'#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho $REMOTE_ADDR\\n\' > /www/cgi-bin/ip && chmod +x /www/cgi-bin/ip && exec httpd -f -p 80 -h /www',
];

function ok(r: RunResult, what: string): string {
  assert.equal(r.status, 0, `${what} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** `nft -j` elements as `key -> value #comment` lines. */
function elemText(e: unknown): string {
  const expr = (x: any): string => {
    if (x === null || typeof x !== 'object') return String(x);
    if ('concat' in x) return (x.concat as unknown[]).map(expr).join(' . ');
    if ('elem' in x) return `${expr(x.elem.val)}${x.elem.comment ? ` #${x.elem.comment}` : ''}`;
    if ('prefix' in x) return `${x.prefix.addr}/${x.prefix.len}`;
    return JSON.stringify(x);
  };
  if (Array.isArray(e)) {
    const [k, v] = e;
    const key = expr(k);
    const hash = key.indexOf(' #');
    return hash < 0 ? `${key} -> ${expr(v)}` : `${key.slice(0, hash)} -> ${expr(v)}${key.slice(hash)}`;
  }
  return expr(e);
}

describe('firewall: NAT, published ports and isolation on nftables', { skip: SKIP }, () => {
  let host: TestHost;
  const outside = `berth-itf-out-${randomBytes(3).toString('hex')}`;
  const children: ChildProcess[] = [];
  const ids: Record<string, string> = {};

  const docker = (args: readonly string[], what = args.join(' ')) => ok(host.docker(args), `docker ${what}`);
  const out = (cmd: string, args: readonly string[]) => run('nsenter', [`--net=/run/netns/${outside}`, cmd, ...args], { timeoutMs: 15_000 });
  const ipOf = (name: string, net = 'bridge') => docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, name]).trim();

  /** `nft -j list ruleset` in the host netns, parsed. */
  const ruleset = (): any[] => JSON.parse(ok(host.inHost('nft', ['-j', 'list', 'ruleset']), 'nft list').trim()).nftables;
  /** Our tables, handles dropped and element order normalised: comparable across restarts. */
  const normalised = (): string =>
    JSON.stringify(
      ruleset()
        .filter((o) => !('metainfo' in o))
        .map((o) => {
          const [kind, body] = Object.entries(o)[0] as [string, any];
          const { handle: _h, ...rest } = body;
          if (Array.isArray(rest.elem)) rest.elem = rest.elem.map(elemText).sort();
          return { [kind]: rest };
        }),
    );
  /** The elements of one of our maps or sets, with their owner comments (`key -> value #owner`). */
  const owned = (family: string, name: string): string[] => {
    const o = ruleset().find((x) => (x.map ?? x.set)?.name === name && (x.map ?? x.set)?.family === family && (x.map ?? x.set)?.table === 'berth');
    assert.ok(o !== undefined, `no ${family} berth ${name}`);
    return ((o.map ?? o.set).elem ?? []).map(elemText).sort();
  };
  /** The elements without owner comments. */
  const elements = (family: string, name: string): string[] => owned(family, name).map((e) => e.replace(/ #[0-9a-f]{12}$/, ''));
  /** After every step: only our two tables exist, and every port element belongs to a running container. */
  const checkRuleset = () => {
    const tables = ruleset().filter((x) => 'table' in x).map((x) => `${x.table.family} ${x.table.name}`).sort();
    assert.deepEqual(tables, ['bridge berth', 'inet berth']);
    const running = docker(['ps', '-q', '--no-trunc']).trim().split('\n').filter(Boolean).map((id) => id.slice(0, 12));
    for (const m of ['pub4', 'pub4any', 'pub6', 'pub6any']) {
      for (const e of owned('inet', m)) {
        const owner = e.split(' #')[1] ?? '';
        assert.ok(running.includes(owner), `element ${e} of ${m} belongs to no running container`);
      }
    }
  };

  // busybox wget from the outside netns, the host netns or a container. Its own -T segfaults in
  // this busybox build (1.35), so `timeout` bounds it.
  const wgetOut = (url: string) => out('busybox', ['timeout', '3', 'busybox', 'wget', '-q', '-O', '-', url]);
  const wgetHost = (url: string) => host.inHost('busybox', ['timeout', '3', 'busybox', 'wget', '-q', '-O', '-', url]);
  const wgetIn = (c: string, url: string) => host.docker(['exec', c, 'timeout', '3', 'wget', '-q', '-O', '-', url]);
  /** Retries briefly while a just-started server binds. */
  const fetch = async (get: () => RunResult, what: string): Promise<string> => {
    let r: RunResult = get();
    for (let i = 0; i < 10 && r.status !== 0; i++) {
      await sleep(300);
      r = get();
    }
    // httpd listens on an IPv6 socket: REMOTE_ADDR is `[::ffff:10.251.0.2]` or `[fd00::2]`.
    return ok(r, what).trim().replace(/^\[(.*)\]$/, '$1').replace(/^::ffff:/, '');
  };
  const pings = (from: string, target: string) => host.docker(['exec', from, 'ping', '-c', '1', '-W', '1', target]).status === 0;

  /** A node one-liner in a netns, as a child we kill by PID in `after`. */
  const serve = (netnsPath: string, script: string): ChildProcess => {
    const child = spawn('nsenter', [`--net=${netnsPath}`, process.execPath, '-e', script], { stdio: 'ignore' });
    children.push(child);
    return child;
  };

  before(async () => {
    host = await TestHost.start('berth-itf');
    const h = `vfh${randomBytes(3).toString('hex')}`;
    const o = `vfo${randomBytes(3).toString('hex')}`;
    ok(run('ip', ['netns', 'add', outside]), 'netns add outside');
    ok(run('ip', ['-n', outside, 'link', 'set', 'lo', 'up']), 'lo up');
    ok(run('ip', ['-n', host.name, 'link', 'add', h, 'type', 'veth', 'peer', 'name', o, 'netns', outside]), 'veth');
    ok(run('ip', ['-n', host.name, 'addr', 'add', `${HOST_IP}/24`, 'dev', h]), 'addr');
    ok(run('ip', ['-n', host.name, '-6', 'addr', 'add', `${HOST_IP6}/64`, 'dev', h, 'nodad']), 'addr6');
    ok(run('ip', ['-n', host.name, 'link', 'set', h, 'up']), 'up');
    ok(run('ip', ['-n', outside, 'addr', 'add', `${OUT_IP}/24`, 'dev', o]), 'addr');
    ok(run('ip', ['-n', outside, '-6', 'addr', 'add', `${OUT_IP6}/64`, 'dev', o, 'nodad']), 'addr6');
    ok(run('ip', ['-n', outside, 'link', 'set', o, 'up']), 'up');
    ok(run('ip', ['-n', outside, 'route', 'add', 'default', 'via', HOST_IP]), 'route');
    ok(run('ip', ['-n', outside, '-6', 'route', 'add', 'default', 'via', HOST_IP6]), 'route6');
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (host !== undefined) {
      const all = host.docker(['ps', '-aq']).stdout.trim().split('\n').filter(Boolean);
      if (all.length > 0) host.docker(['rm', '-f', ...all]);
    }
    run('ip', ['netns', 'del', outside]);
    await host?.cleanup();
  });

  it('sets up its tables and forwarding in its own netns at start; the golden scripts are valid nft', () => {
    checkRuleset();
    for (const f of ['default-bridge.nft', 'networks.nft', 'published.nft']) {
      ok(host.inHost('nft', ['-c', '-f', path.join(REPO, 'test/golden/firewall', f)]), `nft -c ${f}`);
    }
    assert.equal(ok(host.inHost('cat', ['/proc/sys/net/ipv4/ip_forward']), 'sysctl').trim(), '1');
    assert.equal(ok(host.inHost('cat', ['/proc/sys/net/ipv4/conf/berth0/route_localnet']), 'sysctl').trim(), '1');
    assert.deepEqual(elements('inet', 'bridges'), ['berth0']);
  });

  it('publishes -p 8080:80: reachable from outside, from the host (its address and 127.0.0.1), with the real client address', async () => {
    ids['web'] = docker(['run', '-d', '--name', 'web', '-p', '8080:80', 'busybox', ...HTTPD]).trim();
    const webIp = ipOf('web');
    assert.equal(await fetch(() => wgetOut(`http://${HOST_IP}:8080/cgi-bin/ip`), 'wget from outside'), OUT_IP);
    assert.equal(await fetch(() => wgetHost(`http://${HOST_IP}:8080/cgi-bin/ip`), 'wget host address'), HOST_IP);
    // 127.0.0.1 needs route_localnet and is masqueraded to the gateway, as Docker does without its proxy.
    assert.equal(await fetch(() => wgetHost('http://127.0.0.1:8080/cgi-bin/ip'), 'wget localhost'), '172.17.0.1');
    assert.equal(docker(['port', 'web']).trim(), '80/tcp -> 0.0.0.0:8080');
    assert.match(docker(['ps', '--format', '{{.Ports}}', '--filter', 'name=web']), /0\.0\.0\.0:8080->80\/tcp/);
    assert.deepEqual(owned('inet', 'pub4any'), [`tcp . 8080 -> ${webIp} . 80 #${ids['web']!.slice(0, 12)}`]);
    checkRuleset();
  });

  it('hairpin: other containers reach the published port through the host address', async () => {
    docker(['network', 'create', 'other']);
    docker(['run', '-d', '--name', 'client', '--network', 'other', 'busybox', 'sleep', '300']);
    docker(['run', '-d', '--name', 'peer', 'busybox', 'sleep', '300']);
    // From another network: DNAT and forward, the container sees the client's own address.
    assert.equal(await fetch(() => wgetIn('client', `http://${HOST_IP}:8080/cgi-bin/ip`), 'wget other net'), ipOf('client', 'other'));
    // From the same network: the reply would bypass the host, so the source is the gateway.
    assert.equal(await fetch(() => wgetIn('peer', `http://${HOST_IP}:8080/cgi-bin/ip`), 'wget same net'), '172.17.0.1');
    assert.equal(await fetch(() => wgetIn('peer', 'http://172.17.0.1:8080/cgi-bin/ip'), 'wget gateway'), '172.17.0.1');
    // The container itself, through the host address: back out of the port it came in by
    // (hairpin mode on its bridge port), masqueraded to the gateway.
    assert.equal(await fetch(() => wgetIn('web', `http://${HOST_IP}:8080/cgi-bin/ip`), 'wget itself'), '172.17.0.1');
    checkRuleset();
  });

  it('isolates networks from each other in both directions, ICMP and TCP', () => {
    const webIp = ipOf('web');
    const clientIp = ipOf('client', 'other');
    assert.ok(!pings('client', webIp), 'other network reached the default bridge');
    assert.ok(!pings('web', clientIp), 'default bridge reached the other network');
    assert.notEqual(wgetIn('client', `http://${webIp}:80/cgi-bin/ip`).status, 0, 'TCP crossed networks');
    assert.ok(pings('peer', webIp), 'containers of one network must reach each other');
    // Nor can the outside reach a container directly (only published ports, through DNAT).
    assert.notEqual(out('ping', ['-c', '1', '-W', '1', webIp]).status, 0, 'outside reached a container address');
    assert.notEqual(wgetOut(`http://${webIp}:80/cgi-bin/ip`).status, 0, 'outside reached an unpublished path');
    checkRuleset();
  });

  it('enable_icc=false blocks traffic between containers of the network, not to the gateway', async () => {
    docker(['network', 'create', '-o', 'com.docker.network.bridge.enable_icc=false', 'noicc']);
    docker(['run', '-d', '--name', 'nia', '--network', 'noicc', 'busybox', ...HTTPD]);
    docker(['run', '-d', '--name', 'nib', '--network', 'noicc', 'busybox', 'sleep', '300']);
    const a = ipOf('nia', 'noicc');
    const gw = docker(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', 'noicc']).trim();
    assert.ok(pings('nib', gw), 'gateway unreachable');
    assert.ok(!pings('nib', a), 'icc=false let a ping through');
    assert.notEqual(wgetIn('nib', `http://${a}:80/cgi-bin/ip`).status, 0, 'icc=false let TCP through');
    assert.deepEqual(elements('bridge', 'noicc4'), [docker(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Subnet}}', 'noicc']).trim()]);
    checkRuleset();
  });

  it('--internal: no way out, nothing in', () => {
    docker(['network', 'create', '--internal', 'intnet']);
    docker(['run', '-d', '--name', 'inner', '--network', 'intnet', 'busybox', 'sleep', '300']);
    const ip = ipOf('inner', 'intnet');
    assert.ok(!docker(['exec', 'inner', 'ip', 'route']).split('\n').some((l) => l.startsWith('default')), 'internal network has a default route');
    assert.ok(!pings('inner', OUT_IP), 'internal reached the outside');
    assert.notEqual(out('ping', ['-c', '1', '-W', '1', ip]).status, 0, 'outside reached an internal container');
    assert.ok(!pings('peer', ip), 'another network reached an internal container');
    // Nor out through a published port of another network, by way of its own gateway address.
    const gw = docker(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', 'intnet']).trim();
    assert.notEqual(wgetIn('inner', `http://${gw}:8080/cgi-bin/ip`).status, 0, 'internal container escaped through a published port');
    checkRuleset();
  });

  it('masquerades outbound traffic (the outside peer sees the host address), unless enable_ip_masquerade=false', async () => {
    serve(`/run/netns/${outside}`, `require('net').createServer((s) => s.end(s.remoteAddress.replace('::ffff:', '') + '\\n')).listen(9000, '${OUT_IP}')`);
    const seen = (c: string) => fetch(() => host.docker(['exec', c, 'nc', '-w', '3', OUT_IP, '9000']), `nc from ${c}`);
    assert.equal(await seen('peer'), HOST_IP);
    assert.equal(await seen('client'), HOST_IP);
    docker(['network', 'create', '-o', 'com.docker.network.bridge.enable_ip_masquerade=false', 'nomasq']);
    docker(['run', '-d', '--name', 'plain', '--network', 'nomasq', 'busybox', 'sleep', '300']);
    assert.equal(await seen('plain'), ipOf('plain', 'nomasq'));
    checkRuleset();
  });

  it('binds to one host address only when asked', async () => {
    docker(['run', '-d', '--name', 'bound', '-p', `${HOST_IP}:8081:80`, 'busybox', ...HTTPD]);
    assert.equal(await fetch(() => wgetOut(`http://${HOST_IP}:8081/cgi-bin/ip`), 'wget bound'), OUT_IP);
    assert.notEqual(wgetHost('http://127.0.0.1:8081/cgi-bin/ip').status, 0, 'reached on 127.0.0.1');
    assert.notEqual(wgetHost('http://172.17.0.1:8081/cgi-bin/ip').status, 0, 'reached on another host address');
    assert.equal(docker(['port', 'bound']).trim(), `80/tcp -> ${HOST_IP}:8081`);
    assert.ok(elements('inet', 'pub4').some((e) => e.startsWith(`${HOST_IP} . tcp . 8081 -> `)));
    checkRuleset();
  });

  it('refuses a port already published with Docker\'s message, and makes nothing', () => {
    const before = normalised();
    const r = host.docker(['run', '-d', '--name', 'dup', '-p', '8080:80', 'busybox', 'sleep', '300']);
    assert.notEqual(r.status, 0);
    const epId = docker(['inspect', '-f', '{{.NetworkSettings.Networks.bridge.NetworkID}}', 'dup']).trim();
    assert.ok(epId.length > 0);
    assert.match(
      r.stderr,
      /Error response from daemon: driver failed programming external connectivity on endpoint dup \([0-9a-f]{64}\): Bind for 0\.0\.0\.0:8080 failed: port is already allocated/,
    );
    assert.equal(docker(['inspect', '-f', '{{.State.Status}}', 'dup']).trim(), 'created');
    assert.equal(normalised(), before, 'a refused start changed the ruleset');
    // Overlap within one container is refused the same way.
    const r2 = host.docker(['run', '-d', '--name', 'overlap', '-p', '8200-8202:80-82', '-p', '8202:90', 'busybox', 'sleep', '300']);
    assert.match(r2.stderr, /Bind for 0\.0\.0\.0:8202 failed: port is already allocated/);
    docker(['rm', '-f', 'dup', 'overlap']);
    checkRuleset();
  });

  it('ephemeral ports, -P, ranges and protocols, as Docker shows them', async () => {
    docker(['run', '-d', '--name', 'eph', '-p', '80', '-p', '127.0.0.1::81', '--expose', '90', '-P', 'busybox', ...HTTPD]);
    assert.deepEqual(docker(['port', 'eph']).trim().split('\n').sort(), [
      '80/tcp -> 0.0.0.0:32768',
      '81/tcp -> 127.0.0.1:32769',
      '90/tcp -> 0.0.0.0:32770',
    ]);
    assert.equal(await fetch(() => wgetOut(`http://${HOST_IP}:32768/cgi-bin/ip`), 'wget ephemeral'), OUT_IP);
    docker(['run', '-d', '--name', 'ranges', '-p', '9000-9001:90-91/udp', '-p', '9100-9105:100', '-p', '9200:200/sctp', 'busybox', 'sleep', '300']);
    assert.deepEqual(docker(['port', 'ranges']).trim().split('\n').sort(), [
      '100/tcp -> 0.0.0.0:9100',
      '200/sctp -> 0.0.0.0:9200',
      '90/udp -> 0.0.0.0:9000',
      '91/udp -> 0.0.0.0:9001',
    ]);
    const inspect = JSON.parse(docker(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'ranges']));
    assert.deepEqual(inspect['91/udp'], [{ HostIp: '0.0.0.0', HostPort: '9001' }]);
    // The host range is a pool: a second container gets the next free port of it.
    docker(['run', '-d', '--name', 'ranges2', '-p', '9100-9105:100', 'busybox', 'sleep', '300']);
    assert.equal(docker(['port', 'ranges2']).trim(), '100/tcp -> 0.0.0.0:9101');
    const ps = JSON.parse(docker(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'eph']));
    assert.deepEqual(ps, {
      '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '32768' }],
      '81/tcp': [{ HostIp: '127.0.0.1', HostPort: '32769' }],
      '90/tcp': [{ HostIp: '0.0.0.0', HostPort: '32770' }],
    });
    checkRuleset();
  });

  it('UDP through a published port, from outside and from the host', async () => {
    docker(['run', '-d', '--name', 'udp', '-p', '5353:5353/udp', 'busybox', 'sleep', '300']);
    const sandbox = docker(['inspect', '-f', '{{.NetworkSettings.SandboxKey}}', 'udp']).trim();
    serve(sandbox, "const s = require('dgram').createSocket('udp4'); s.on('message', (m, r) => s.send('from ' + r.address, r.port, r.address)); s.bind(5353)");
    const client = (target: string) => [
      process.execPath,
      '-e',
      `const s = require('dgram').createSocket('udp4'); const t = setInterval(() => s.send('ping', 5353, '${target}'), 200); s.send('ping', 5353, '${target}'); s.on('message', (m) => { console.log(String(m)); process.exit(0); }); setTimeout(() => process.exit(1), 3000);`,
    ];
    const [node = '', ...args] = client(HOST_IP);
    assert.equal(await fetch(() => out(node, args), 'udp from outside'), `from ${OUT_IP}`);
    assert.equal(await fetch(() => host.inHost(node, args), 'udp from host'), `from ${HOST_IP}`);
    checkRuleset();
  });

  it('IPv6: a dual-stack network publishes on 0.0.0.0 and ::, reachable over IPv6 from outside', async () => {
    docker(['network', 'create', '--ipv6', '--subnet', 'fd00:beef::/64', 'v6net']);
    docker(['run', '-d', '--name', 'web6', '--network', 'v6net', '-p', '8082:80', 'busybox', ...HTTPD]);
    assert.deepEqual(docker(['port', 'web6']).trim().split('\n'), ['80/tcp -> 0.0.0.0:8082', '80/tcp -> [::]:8082']);
    assert.equal(await fetch(() => wgetOut(`http://[${HOST_IP6}]:8082/cgi-bin/ip`), 'wget v6'), OUT_IP6);
    assert.equal(await fetch(() => wgetOut(`http://${HOST_IP}:8082/cgi-bin/ip`), 'wget v4'), OUT_IP);
    assert.equal(ok(host.inHost('cat', ['/proc/sys/net/ipv6/conf/all/forwarding']), 'sysctl').trim(), '1');
    checkRuleset();
  });

  it('-p with --network host is discarded with Docker\'s warning', async () => {
    const r = await host.request('POST', '/containers/create?name=hostnet', {
      Image: 'busybox',
      Cmd: ['sleep', '300'],
      HostConfig: { NetworkMode: 'host', PortBindings: { '80/tcp': [{ HostPort: '8090' }] } },
    });
    assert.equal(r.status, 201);
    assert.deepEqual(r.body.Warnings, ['Published ports are discarded when using host network mode']);
    docker(['start', 'hostnet']);
    assert.equal(docker(['port', 'hostnet']).trim(), '');
    checkRuleset();
  });

  it('refuses bad port input at create with Docker\'s messages', async () => {
    const create = (hc: unknown, exposed?: unknown) =>
      host.request('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: hc, ...(exposed ? { ExposedPorts: exposed } : {}) });
    const cases: [unknown, string][] = [
      [{ PortBindings: { '70000/tcp': [{ HostPort: '80' }] } }, 'invalid port specification: "70000"'],
      [{ PortBindings: { '80/tcp': [{ HostPort: '99999' }] } }, 'invalid port specification: "99999"'],
      [{ PortBindings: { '80/tcp': [{ HostPort: '9000-8000' }] } }, 'invalid port specification: "9000-8000"'],
      [{ PortBindings: { '80/xyz': [{ HostPort: '80' }] } }, 'invalid proto: xyz'],
      [{ PortBindings: { '80/tcp': [{ HostIp: '1.2.3', HostPort: '80' }] } }, 'invalid IP address: 1.2.3'],
    ];
    for (const [hc, message] of cases) {
      const r = await create(hc);
      assert.equal(r.status, 400, JSON.stringify(hc));
      assert.equal(r.body?.message, message);
    }
    // The docker CLI checks -p itself; these are its messages.
    assert.match(host.docker(['create', '-p', '80-81:90-92', 'busybox']).stderr, /invalid ranges specified for container and host Ports: 90-92 and 80-81/);
    assert.match(host.docker(['create', '-p', '8080:80/foo', 'busybox']).stderr, /invalid proto: foo/);
  });

  it('after a daemon restart the rules are the same, ports still work, and the admin\'s user chain survived', async () => {
    ok(host.inHost('nft', ['add', 'rule', 'inet', 'berth', 'user', 'ip', 'saddr', '10.251.0.99', 'drop']), 'user rule');
    const before = normalised();
    await host.stopDaemon();
    await host.startDaemon();
    assert.equal(normalised(), before);
    assert.equal(await fetch(() => wgetOut(`http://${HOST_IP}:8080/cgi-bin/ip`), 'wget after restart'), OUT_IP);
    assert.equal(docker(['port', 'eph', '80']).trim(), '0.0.0.0:32768');
    // A restart of the container gives it its ports back.
    docker(['restart', '-t', '1', 'web']);
    assert.equal(await fetch(() => wgetOut(`http://${HOST_IP}:8080/cgi-bin/ip`), 'wget after container restart'), OUT_IP);
    const user = ruleset().filter((x) => x.rule?.chain === 'user');
    assert.equal(user.length, 1);
    checkRuleset();
  });

  it('removing every container and user network leaves only the documented base', () => {
    const all = docker(['ps', '-aq']).trim().split('\n').filter(Boolean);
    if (all.length > 0) docker(['rm', '-f', ...all]);
    for (const n of ['other', 'noicc', 'intnet', 'nomasq', 'v6net']) docker(['network', 'rm', n]);
    checkRuleset();
    for (const m of ['pub4', 'pub4any', 'pub6', 'pub6any']) assert.deepEqual(elements('inet', m), [], m);
    assert.deepEqual(elements('inet', 'bridges'), ['berth0']);
    assert.deepEqual(elements('bridge', 'noicc4'), []);
    assert.deepEqual(elements('bridge', 'noicc6'), []);
    // What stays: berth0's rules (as Docker keeps docker0's) and the admin's chain.
    const rules = ruleset()
      .filter((x) => 'rule' in x)
      .map((x) => `${x.rule.family} ${x.rule.chain}`)
      .sort();
    assert.deepEqual(rules, [
      ...Array(4).fill('bridge forward'),
      ...Array(7).fill('inet forward'),
      'inet guard',
      'inet noicc',
      'inet noicc',
      'inet output',
      ...Array(5).fill('inet postrouting'),
      'inet prerouting',
      ...Array(4).fill('inet published'),
      'inet user',
    ]);
  });
});

describe('berthd --firewall=false', { skip: SKIP }, () => {
  let host: TestHost;
  before(async () => {
    host = await TestHost.start('berth-itn', ['--firewall=false']);
  });
  after(async () => {
    await host?.cleanup();
  });

  it('leaves the firewall and forwarding alone', () => {
    const rs = JSON.parse(ok(host.inHost('nft', ['-j', 'list', 'ruleset']), 'nft').trim()).nftables.filter((x: any) => !('metainfo' in x));
    assert.deepEqual(rs, []);
    assert.equal(ok(host.inHost('cat', ['/proc/sys/net/ipv4/ip_forward']), 'sysctl').trim(), '0');
  });
});
