/**
 * The foundation end to end: berthd in a throwaway host netns, driven through the HTTP API, the
 * berth CLI and the real docker CLI, checked against the kernel with `ip -json`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isRoot, TestHost } from '../helpers/host.js';

const ROOT = isRoot();
const SKIP = ROOT ? false : 'needs root: integration tests create network namespaces (run as root)';
if (!ROOT) console.warn('SKIPPED: network integration tests need root');

/** Links of the host netns, by name. */
function links(host: TestHost): Map<string, any> {
  return new Map(host.ipJson(['-d', 'link', 'show']).map((l) => [l.ifname, l]));
}

/** Addresses (`addr/prefix`) on a link in the host netns. */
function addrs(host: TestHost, dev: string): string[] {
  const [entry] = host.ipJson(['addr', 'show', 'dev', dev]);
  return (entry?.addr_info ?? []).filter((a: any) => a.scope !== 'link').map((a: any) => `${a.local}/${a.prefixlen}`);
}

describe('networks: API, CLI, docker CLI, kernel', { skip: SKIP }, () => {
  let host: TestHost;
  before(async () => {
    host = await TestHost.start('berth-itn');
  });
  after(async () => {
    await host?.cleanup();
  });

  it('starts with bridge, host and none, and berth0 in the kernel', async () => {
    const r = await host.request('GET', '/v1.48/networks');
    assert.equal(r.status, 200);
    const byName = new Map(r.body.map((n: any) => [n.Name, n]));
    assert.deepEqual([...byName.keys()].sort(), ['bridge', 'host', 'none']);
    const bridge: any = byName.get('bridge');
    assert.equal(bridge.Driver, 'bridge');
    assert.deepEqual(bridge.IPAM.Config, [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }]);
    assert.equal(bridge.Options['com.docker.network.bridge.name'], 'berth0');
    assert.equal((byName.get('none') as any).Driver, 'null');
    assert.equal((byName.get('host') as any).Driver, 'host');
    const berth0 = links(host).get('berth0');
    assert.ok(berth0, `berth0 missing:\n${host.dump()}`);
    assert.equal(berth0.linkinfo.info_kind, 'bridge');
    assert.ok(berth0.flags.includes('UP'));
    assert.equal(berth0.ifalias, `berth:net:${bridge.Id}`);
    assert.deepEqual(addrs(host, 'berth0'), ['172.17.0.1/16']);
  });

  it('creates seed 004\'s personal network: gateway from the ip-range, bridge br-<id>', async () => {
    const r = await host.request('POST', '/networks/create', {
      Name: 'personal',
      IPAM: { Driver: 'default', Config: [{ Subnet: '172.21.0.0/16', IPRange: '172.21.240.0/20' }] },
    });
    assert.equal(r.status, 201, r.text);
    const id: string = r.body.Id;
    assert.match(id, /^[0-9a-f]{64}$/);
    const inspect = await host.request('GET', `/networks/${id.slice(0, 10)}`);
    assert.equal(inspect.status, 200);
    assert.equal(inspect.body.Name, 'personal');
    assert.deepEqual(inspect.body.IPAM.Config, [{ Subnet: '172.21.0.0/16', IPRange: '172.21.240.0/20' }]);
    const br = `br-${id.slice(0, 12)}`;
    const link = links(host).get(br);
    assert.ok(link, `${br} missing:\n${host.dump()}`);
    assert.equal(link.mtu, 1500);
    assert.deepEqual(addrs(host, br), ['172.21.240.0/16']);
  });

  it('takes default pools in Docker\'s order, and options for name and MTU', async () => {
    const a = await host.request('POST', '/networks/create', { Name: 'pool-a' });
    const b = await host.request('POST', '/networks/create', {
      Name: 'pool-b',
      Options: { 'com.docker.network.bridge.name': 'br-custom', 'com.docker.network.driver.mtu': '1400' },
      Labels: { team: 'net' },
    });
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    const ia = (await host.request('GET', '/networks/pool-a')).body;
    const ib = (await host.request('GET', '/networks/pool-b')).body;
    assert.deepEqual(ia.IPAM.Config, [{ Subnet: '172.18.0.0/16', Gateway: '172.18.0.1' }]);
    assert.deepEqual(ib.IPAM.Config, [{ Subnet: '172.19.0.0/16', Gateway: '172.19.0.1' }]);
    assert.deepEqual(ib.Labels, { team: 'net' });
    const l = links(host).get('br-custom');
    assert.ok(l);
    assert.equal(l.mtu, 1400);
    assert.deepEqual(addrs(host, 'br-custom'), ['172.19.0.1/16']);
  });

  it('creates an IPv6 network with both families on the bridge', async () => {
    const r = await host.request('POST', '/networks/create', {
      Name: 'dual',
      EnableIPv6: true,
      IPAM: { Config: [{ Subnet: '10.90.0.0/24' }, { Subnet: 'fd00:90::/64' }] },
    });
    assert.equal(r.status, 201, r.text);
    const br = `br-${r.body.Id.slice(0, 12)}`;
    assert.deepEqual(addrs(host, br).sort(), ['10.90.0.1/24', 'fd00:90::1/64']);
  });

  it('refuses bad input with Docker\'s status and message, and leaves nothing behind', async () => {
    const before = [...links(host).keys()].sort();
    const cases: [unknown, number, RegExp][] = [
      [{ Name: 'bad', IPAM: { Config: [{ Subnet: '10.0.0.0/33' }] } }, 400, /invalid/i],
      [{ Name: 'bad', IPAM: { Config: [{ Subnet: 'nonsense' }] } }, 400, /invalid/i],
      [{ Name: 'bad', IPAM: { Config: [{ Subnet: '10.1.0.0/24', IPRange: '10.2.0.0/24' }] } }, 400, /range/i],
      [{ Name: 'bad', IPAM: { Config: [{ Subnet: '10.1.0.0/24', Gateway: '10.3.0.1' }] } }, 400, /gateway/i],
      [{ Name: 'bad', IPAM: { Config: [{ IPRange: '10.1.0.0/24' }] } }, 400, /subnet/i],
      [{ Name: 'bad', IPAM: { Config: [{ Subnet: '172.21.5.0/24' }] } }, 403, /overlaps/],
      [{ Name: 'personal' }, 409, /^network with name personal already exists$/],
      [{ Name: 'bad', Driver: 'nosuch' }, 404, /^plugin "nosuch" not found$/],
      [{ Name: 'h2', Driver: 'host' }, 403, /^only one instance of "host" network is allowed$/],
      [{ Name: 'bridge' }, 403, /^operation is not permitted on predefined bridge network $/],
      [{ Name: 'bad', Options: { 'com.docker.network.driver.mtu': 'lots' } }, 400, /MTU/],
      [{ Name: 'bad', Options: { 'com.docker.network.bridge.name': 'x'.repeat(16) } }, 400, /15/],
      [{ Name: 'bad', Options: { 'com.docker.network.bridge.enable_icc': 'maybe' } }, 400, /ParseBool/],
      [{ Name: 42 }, 400, /invalid JSON/],
      ['{"Name": "broken"', 400, /invalid JSON/],
      [{ Name: 'semi; rm -rf /' }, 400, /^invalid network name "semi; rm -rf \/"/],
      [{ Name: 'ok', Options: { 'com.docker.network.bridge.name': 'a;b$(x)' } }, 400, /bridge name/],
    ];
    for (const [body, status, message] of cases) {
      const r = await host.request('POST', '/networks/create', body);
      assert.equal(r.status, status, `${JSON.stringify(body)} → ${r.status} ${r.text}`);
      assert.match(r.body.message, message, JSON.stringify(body));
    }
    const del = await host.request('DELETE', '/networks/bridge');
    assert.equal(del.status, 403);
    assert.equal(del.body.message, 'bridge is a pre-defined network and cannot be removed');
    const missing = await host.request('GET', '/networks/nosuchnet');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.message, 'network nosuchnet not found');
    const after = [...links(host).keys()].sort();
    assert.deepEqual(after, before, 'a refused request changed the kernel');
    const names = (await host.request('GET', '/networks')).body.map((n: any) => n.Name);
    assert.ok(!names.includes('bad'));
  });

  it('filters the list as Docker does', async () => {
    const q = (f: unknown) => host.request('GET', `/networks?filters=${encodeURIComponent(JSON.stringify(f))}`);
    const names = async (f: unknown) => (await q(f)).body.map((n: any) => n.Name).sort();
    assert.deepEqual(await names({ type: { custom: true } }), ['dual', 'personal', 'pool-a', 'pool-b']);
    assert.deepEqual(await names({ type: { builtin: true } }), ['bridge', 'host', 'none']);
    assert.deepEqual(await names({ driver: { null: true } }), ['none']);
    assert.deepEqual(await names({ label: { 'team=net': true } }), ['pool-b']);
    assert.deepEqual(await names({ name: { 'pool-': true } }), ['pool-a', 'pool-b']);
    const bad = await q({ colour: { red: true } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.message, "invalid filter 'colour'");
  });

  it('removes a network and its bridge', async () => {
    const id = (await host.request('GET', '/networks/dual')).body.Id;
    const r = await host.request('DELETE', '/networks/dual');
    assert.equal(r.status, 204);
    assert.ok(!links(host).has(`br-${id.slice(0, 12)}`));
    assert.equal((await host.request('GET', '/networks/dual')).status, 404);
  });

  it('keeps state across a restart and reconciles the kernel', async () => {
    const before = (await host.request('GET', '/networks')).body.map((n: any) => `${n.Id} ${n.Name}`).sort();
    const personalId = (await host.request('GET', '/networks/personal')).body.Id;
    const br = `br-${personalId.slice(0, 12)}`;
    await host.stopDaemon();
    // While berthd is down: someone deletes our bridge, leaves an orphan of ours, and adds a
    // link of their own. Restart must re-create the first, remove the second, keep the third.
    host.inHost('ip', ['link', 'del', br]);
    host.inHost('ip', ['link', 'add', 'br-orphan', 'type', 'bridge']);
    host.inHost('ip', ['link', 'set', 'br-orphan', 'alias', `berth:net:${'e'.repeat(64)}`]);
    // (this kernel has no dummy links: a bridge without our alias stands for "someone else's")
    host.inHost('ip', ['link', 'add', 'theirs0', 'type', 'bridge']);
    await host.startDaemon();
    const after = (await host.request('GET', '/networks')).body.map((n: any) => `${n.Id} ${n.Name}`).sort();
    assert.deepEqual(after, before);
    const l = links(host);
    assert.ok(l.has(br), `bridge not re-created:\n${host.dump()}`);
    assert.deepEqual(addrs(host, br), ['172.21.240.0/16']);
    assert.ok(!l.has('br-orphan'), 'orphan not removed');
    assert.ok(l.has('theirs0'), 'a link berth does not own was touched');
  });

  it('survives kill -9 during creates: acknowledged networks exist, nothing leaks', async () => {
    const acked = new Set<string>();
    const attempts: Promise<void>[] = [];
    for (let i = 0; i < 40; i++) {
      attempts.push(
        host
          .request('POST', '/networks/create', { Name: `crash-${i}` })
          .then((r) => {
            if (r.status === 201) acked.add(`crash-${i}`);
          })
          .catch(() => undefined),
      );
      if (i === 20) await host.killDaemon();
    }
    await Promise.all(attempts);
    await host.startDaemon();
    const list = (await host.request('GET', '/networks')).body;
    const names = new Set(list.map((n: any) => n.Name));
    for (const name of acked) assert.ok(names.has(name), `acknowledged network ${name} lost`);
    // Every bridge carrying our alias belongs to a stored network, and vice versa.
    const ids = new Set(list.map((n: any) => n.Id));
    const ours = [...links(host).values()].filter((l) => String(l.ifalias ?? '').startsWith('berth:net:'));
    for (const l of ours) assert.ok(ids.has(l.ifalias.slice('berth:net:'.length)), `leaked ${l.ifname}`);
    const bridges = list.filter((n: any) => n.Driver === 'bridge');
    assert.equal(ours.length, bridges.length);
    // No subnet handed out twice.
    const subnets = bridges.flatMap((n: any) => n.IPAM.Config.map((c: any) => c.Subnet));
    assert.equal(new Set(subnets).size, subnets.length);
    for (const n of list) if (String(n.Name).startsWith('crash-')) await host.request('DELETE', `/networks/${n.Id}`);
  });

  it('works through the berth CLI', () => {
    const create = host.berth(['network', 'create', '--subnet', '10.77.0.0/24', '--label', 'x=y', 'cli-net']);
    assert.equal(create.status, 0, create.stderr);
    assert.match(create.stdout.trim(), /^[0-9a-f]{64}$/);
    const ls = host.berth(['network', 'ls']);
    assert.equal(ls.status, 0, ls.stderr);
    const lines = ls.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/);
    assert.ok(lines.some((l) => /^[0-9a-f]{12}\s+cli-net\s+bridge\s+local$/.test(l)), ls.stdout);
    const fmt = host.berth(['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}}{{end}} {{.Labels.x}}', 'cli-net']);
    assert.equal(fmt.stdout.trim(), '10.77.0.0/24 y');
    const q = host.berth(['network', 'ls', '-q', '--filter', 'name=cli-net']);
    assert.match(q.stdout.trim(), /^[0-9a-f]{12}$/);
    const dup = host.berth(['network', 'create', 'cli-net']);
    assert.equal(dup.status, 1);
    assert.equal(dup.stderr.trim(), 'Error response from daemon: network with name cli-net already exists');
    const rm = host.berth(['network', 'rm', 'cli-net', 'no-such-net']);
    assert.equal(rm.status, 1);
    assert.equal(rm.stdout.trim(), 'cli-net');
    assert.match(rm.stderr, /network no-such-net not found/);
  });

  it('works through the real docker CLI', (t) => {
    const v = host.docker(['version', '--format', '{{.Server.APIVersion}}']);
    if (v.status !== 0 && /not found|ENOENT/.test(v.stderr)) {
      t.skip('docker CLI not installed');
      return;
    }
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout.trim(), '1.48');
    const c = host.docker(['network', 'create', '--subnet', '10.66.0.0/24', '--gateway', '10.66.0.254', 'dk-net']);
    assert.equal(c.status, 0, c.stderr);
    const ls = host.docker(['network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']);
    assert.ok(ls.stdout.split('\n').includes('dk-net bridge local'), ls.stdout);
    const i = host.docker(['network', 'inspect', '-f', '{{json .IPAM.Config}}', 'dk-net']);
    assert.equal(i.stdout.trim(), '[{"Subnet":"10.66.0.0/24","Gateway":"10.66.0.254"}]');
    const rm = host.docker(['network', 'rm', 'dk-net']);
    assert.equal(rm.status, 0, rm.stderr);
    const p = host.docker(['network', 'prune', '-f']);
    assert.equal(p.status, 0, p.stderr);
    const left = host.docker(['network', 'ls', '--format', '{{.Name}}']).stdout.trim().split('\n').sort();
    assert.deepEqual(left, ['bridge', 'host', 'none']);
  });
});
