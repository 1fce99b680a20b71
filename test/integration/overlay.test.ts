/**
 * Overlay networks across three berth hosts, end to end (test/helpers/cluster.ts):
 *
 *   underlay netns: br0 198.18.0.254/24, etcd on :2379
 *     ├─ veth ── h1 netns: ul0 198.18.0.1, berthd --cluster-store etcd://198.18.0.254:2379 --cluster-advertise ul0
 *     ├─ veth ── h2 netns: ul0 198.18.0.2, berthd …
 *     └─ veth ── h3 netns: ul0 198.18.0.3, berthd …
 *
 * Proves with real packets, the real docker CLI and etcd's own view: a network created on one
 * host shows on all (SCOPE global) with a bridge and a VXLAN link of the right kind on each;
 * containers on different hosts reach each other by address and by name; another overlay is
 * isolated; concurrent `run`s across hosts never share an address; egress and published ports
 * go through docker_gwbridge; a crashed daemon's endpoints leave etcd and the peers' FDBs after
 * the lease TTL, and come back when it restarts; `network rm` is refused while any host has a
 * container on the network and removes it everywhere once none has. Steps are sequential on one
 * shared cluster. Traffic only between namespaces this test made.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { berthAsync, TestCluster, underlayAddress, UNDERLAY_GATEWAY } from '../helpers/cluster.js';
import { etcdAvailable } from '../helpers/etcd.js';
import { isRoot, run, TestHost, type RunResult } from '../helpers/host.js';

const ROOT = isRoot();
const ETCD = ROOT && etcdAvailable();
const SKIP = !ROOT
  ? 'needs root: creates network namespaces and runs containers'
  : !ETCD
    ? 'needs etcd (/usr/bin/etcd, Debian package etcd-server: scripts/setup.sh installs it)'
    : false;
if (SKIP !== false) console.warn(`SKIPPED: overlay integration tests: ${SKIP}`);

const TTL = 3;
const KEYS = '/berth/v1/';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('overlay networks across three hosts', { skip: SKIP }, () => {
  let cluster: TestCluster;
  let single: TestHost | undefined;
  /** ov1's ID and its 12-hex short form (link names). */
  let ov1 = '';
  let short1 = '';
  /** Containers on ov1 by name: host index, ID, address, MAC. */
  const ctrs = new Map<string, { host: number; id: string; ip: string; mac: string }>();
  /** Every container made, per host index (for the removal step). */
  const made: string[][] = [[], [], []];

  const h = (i: number): TestHost => cluster.hosts[i] as TestHost;
  const logs = (): string => `\n${cluster?.logsTail(25) ?? ''}`;
  const ok = (r: RunResult, what: string): string => {
    assert.equal(r.status, 0, `${what} failed (${r.status}): ${r.stderr}${r.stdout}${logs()}`);
    return r.stdout;
  };

  /**
   * Calls `fn` every `intervalMs` until it returns `{ done }`, at most `timeoutMs` (and a bounded
   * number of tries); a string return says why not yet, and ends up in the failure message.
   */
  async function poll<T>(what: string, timeoutMs: number, fn: () => Promise<{ done: T } | string> | { done: T } | string, intervalMs = 200): Promise<{ value: T; ms: number }> {
    const t0 = Date.now();
    const tries = Math.ceil(timeoutMs / intervalMs) + 1;
    let why = '';
    for (let i = 0; i < tries; i++) {
      try {
        const r = await fn();
        if (typeof r !== 'string') return { value: r.done, ms: Date.now() - t0 };
        why = r;
      } catch (err) {
        why = (err as Error).message;
      }
      if (Date.now() - t0 > timeoutMs) break;
      await sleep(intervalMs);
    }
    assert.fail(`${what}: not within ${timeoutMs} ms; last: ${why}${logs()}`);
  }

  /** `berth exec <ctr> ping -c1 -W1 <target>` until one reply; returns the ping output. */
  const pingUntil = (host: number, ctr: string, target: string, timeoutMs = 10_000): Promise<{ value: string; ms: number }> =>
    poll(`${ctr} (h${host + 1}) pings ${target}`, timeoutMs, async () => {
      const r = await berthAsync(h(host), ['exec', ctr, 'ping', '-c', '1', '-W', '1', target], 10_000);
      return r.status === 0 ? { done: r.stdout } : `exit ${r.status}: ${(r.stdout + r.stderr).trim().split('\n').slice(-2).join(' | ')}`;
    }, 100);

  const inspect = (host: number, ctr: string, format: string): string => ok(h(host).berth(['inspect', '-f', format, ctr]), `inspect ${ctr}`).trim();
  const netInspect = (host: number, net: string, format: string): string =>
    ok(h(host).berth(['network', 'inspect', '-f', format, net]), `network inspect ${net} on h${host + 1}`).trim();

  /** Runs a busybox sleeper on a network (ov1 by default) on host i and records it. */
  async function runOn(host: number, name: string, network = 'ov1'): Promise<void> {
    const r = await berthAsync(h(host), ['run', '-d', '--network', network, '--name', name, 'busybox', 'sleep', '3600']);
    made[host]?.push(name);
    ok(r, `run ${name} on h${host + 1}`);
    if (network === 'ov1') {
      const out = await berthAsync(h(host), ['inspect', '-f', '{{.Id}} {{range .NetworkSettings.Networks}}{{.IPAddress}} {{.MacAddress}}{{end}}', name]);
      const [id = '', ip = '', mac = ''] = ok(out, `inspect ${name}`).trim().split(' ');
      ctrs.set(name, { host, id, ip, mac });
    }
  }

  /** Name, driver and scope of each network on host i. */
  const networks = (host: number): string[] =>
    ok(h(host).berth(['network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']), `network ls on h${host + 1}`).trim().split('\n');

  /** Keys under a prefix, with the prefix cut off. */
  const etcdKeys = async (prefix: string): Promise<string[]> => (await cluster.etcdRange(prefix)).map((kv) => kv.key.slice(prefix.length)).sort();

  const linkNames = (host: number): string[] => h(host).ipJson(['link', 'show']).map((l) => l.ifname as string);

  before(async () => {
    cluster = await TestCluster.start(3, { prefix: 'berth-itov', ttl: TTL });
  });

  after(async () => {
    await single?.cleanup();
    await cluster?.cleanup();
  });

  it('a daemon without --cluster-store refuses an overlay network', async () => {
    single = await TestHost.start('berth-itov-single');
    const r = single.berth(['network', 'create', '-d', 'overlay', 'x']);
    assert.notEqual(r.status, 0, `network create -d overlay succeeded on a daemon without a cluster store: ${r.stdout}`);
    assert.match(r.stderr, /cluster store/, `unexpected message: ${r.stderr}`);
    assert.equal(single.berth(['network', 'inspect', 'x']).status === 0, false, 'the refused network exists');
    await single.cleanup();
    single = undefined;
  });

  it('a network created on h1 shows on every host, global, with its bridge and VXLAN link', async () => {
    ok(h(0).berth(['network', 'create', '-d', 'overlay', '--subnet', '10.77.0.0/24', 'ov1']), 'network create ov1');
    ov1 = netInspect(0, 'ov1', '{{.Id}}');
    assert.match(ov1, /^[0-9a-f]{64}$/);
    short1 = ov1.slice(0, 12);
    for (const i of [0, 1, 2]) {
      const { ms } = await poll(`ov1 in h${i + 1}'s network ls`, 5_000, () => {
        const nets = networks(i);
        return nets.includes('ov1 overlay global') ? { done: true } : nets.join(', ');
      });
      console.log(`ov1 listed on h${i + 1} after ${ms} ms`);
      assert.equal(netInspect(i, 'ov1', '{{.Id}}'), ov1, `h${i + 1} knows ov1 under another ID`);
      assert.equal(netInspect(i, 'ov1', '{{range .IPAM.Config}}{{.Subnet}}{{end}}'), '10.77.0.0/24');
      // The real docker CLI sees the same.
      const docker = ok(h(i).docker(['network', 'ls', '--format', '{{.Name}} {{.Scope}}']), `docker network ls on h${i + 1}`);
      assert.ok(docker.split('\n').includes('ov1 global'), `docker network ls on h${i + 1}:\n${docker}`);
    }

    const vnis = new Set<number>();
    for (const i of [0, 1, 2]) {
      const { value: [vx, br] } = await poll(`vx-${short1} and ov-${short1} on h${i + 1}`, 5_000, () => {
        const names = linkNames(i);
        if (!names.includes(`vx-${short1}`) || !names.includes(`ov-${short1}`)) return names.join(', ');
        return { done: [h(i).ipJson(['-d', 'link', 'show', `vx-${short1}`])[0], h(i).ipJson(['-d', 'link', 'show', `ov-${short1}`])[0]] };
      });
      const what = `h${i + 1}: ${JSON.stringify(vx)}`;
      assert.equal(br.linkinfo?.info_kind, 'bridge', `ov-${short1} on h${i + 1} is not a bridge`);
      assert.equal(vx.linkinfo?.info_kind, 'vxlan', what);
      const d = vx.linkinfo.info_data;
      assert.equal(typeof d.id, 'number', what);
      vnis.add(d.id as number);
      assert.equal(d.port, 4789, what);
      assert.equal(d.local, underlayAddress(i), what);
      assert.equal(d.learning, false, what);
      assert.equal(d.proxy, true, what);
      assert.equal(vx.mtu, 1450, what);
      assert.equal(vx.master, `ov-${short1}`, `vx-${short1} is not a port of ov-${short1} on h${i + 1}`);
      assert.ok((vx.flags as string[]).includes('UP'), `vx-${short1} is down on h${i + 1}`);
    }
    assert.equal(vnis.size, 1, `the hosts disagree on ov1's VNI: ${[...vnis].join(', ')}`);
    const [net] = await cluster.etcdRange(`${KEYS}networks/${ov1}`);
    assert.ok(net !== undefined, `etcd has no ${KEYS}networks/${ov1}`);
  });

  it('containers on three hosts reach each other by address and by name', async () => {
    await Promise.all([runOn(0, 'c1'), runOn(1, 'c2'), runOn(2, 'c3')]);
    const c = (n: string) => ctrs.get(n) as { host: number; id: string; ip: string; mac: string };
    for (const n of ['c1', 'c2', 'c3']) assert.match(c(n).ip, /^10\.77\.0\.\d+$/, `${n}'s ov1 address`);
    assert.equal(new Set(['c1', 'c2', 'c3'].map((n) => c(n).ip)).size, 3, 'two containers share an address');

    const first = await pingUntil(0, 'c1', c('c2').ip);
    console.log(`c1 → c2 (${c('c2').ip}) first reply after ${first.ms} ms`);
    await pingUntil(0, 'c1', c('c3').ip);
    await pingUntil(1, 'c2', c('c3').ip);
    await pingUntil(2, 'c3', c('c1').ip);
    // By name through the embedded DNS, containers on other hosts included.
    const byName2 = await pingUntil(0, 'c1', 'c2');
    assert.ok(byName2.value.includes(`(${c('c2').ip})`), `c2 resolved to something else: ${byName2.value}`);
    const byName3 = await pingUntil(1, 'c2', 'c3');
    assert.ok(byName3.value.includes(`(${c('c3').ip})`), `c3 resolved to something else: ${byName3.value}`);

    for (const n of ['c1', 'c2', 'c3']) {
      const link = ok(h(c(n).host).berth(['exec', n, 'ip', 'link', 'show', 'eth0']), `ip link in ${n}`);
      assert.equal(/ mtu (\d+)/.exec(link)?.[1], '1450', `${n}'s eth0: ${link}`);
    }

    // h1's VXLAN link knows c2 and c3 (on their hosts' VTEPs) statically; not its own c1.
    const fdb = ok(h(0).inHost('bridge', ['fdb', 'show', 'dev', `vx-${short1}`]), 'bridge fdb');
    const neigh = ok(h(0).inHost('ip', ['neigh', 'show', 'dev', `vx-${short1}`]), 'ip neigh');
    for (const n of ['c2', 'c3']) {
      const e = c(n);
      assert.ok(fdb.includes(`${e.mac} dst ${underlayAddress(e.host)} self permanent`), `h1's FDB has no entry for ${n} (${e.mac}):\n${fdb}`);
      assert.match(neigh, new RegExp(`^${e.ip.replaceAll('.', '\\.')} lladdr ${e.mac} PERMANENT`, 'm'), `h1's neighbours lack ${n}:\n${neigh}`);
    }
    assert.ok(!fdb.includes(c('c1').mac), `h1's FDB points at its own c1:\n${fdb}`);

    const eps = await cluster.etcdRange(`${KEYS}endpoints/${ov1}/`);
    assert.equal(eps.length, 3, `etcd endpoints of ov1: ${eps.map((e) => e.value).join('\n')}`);

    // `network inspect` on h1 lists c1 by container ID and the others as `ep-<endpoint>`.
    const listed = netInspect(0, 'ov1', '{{range $k, $v := .Containers}}{{$k}} {{$v.Name}} {{$v.IPv4Address}}{{println}}{{end}}');
    assert.match(listed, new RegExp(`^${c('c1').id} c1 ${c('c1').ip.replaceAll('.', '\\.')}/24$`, 'm'), listed);
    for (const n of ['c2', 'c3']) assert.match(listed, new RegExp(`^ep-[0-9a-f]{64} ${n} ${c(n).ip.replaceAll('.', '\\.')}/24$`, 'm'), listed);

    // A container's very first query is answered, although its own announcement makes the
    // cluster re-sync the DNS while it starts (that sync once closed its fresh DNS sockets).
    for (let i = 0; i < 3; i++) {
      const r = h(1).berth(['run', '--rm', '--network', 'ov1', 'busybox', 'nslookup', 'c1']);
      assert.match(r.stdout, new RegExp(`Address: ${c('c1').ip.replaceAll('.', '\\.')}$`, 'm'), `first query of a new container on h2:\n${r.stdout}${r.stderr}`);
    }
  });

  it('another overlay network is isolated from ov1', async () => {
    ok(h(1).berth(['network', 'create', '-d', 'overlay', 'ov2']), 'network create ov2');
    const subnet = netInspect(1, 'ov2', '{{range .IPAM.Config}}{{.Subnet}}{{end}}');
    assert.match(subnet, /^10\.\d+\.\d+\.0\/24$/, 'default overlay subnet');
    assert.notEqual(subnet, '10.77.0.0/24');
    const short2 = netInspect(1, 'ov2', '{{.Id}}').slice(0, 12);
    await Promise.all([runOn(1, 'i1', 'ov2'), runOn(2, 'i2', 'ov2')]);
    const vni = (i: number, s: string): unknown => h(i).ipJson(['-d', 'link', 'show', `vx-${s}`])[0]?.linkinfo?.info_data?.id;
    assert.notEqual(vni(1, short2), vni(1, short1), 'ov1 and ov2 share a VNI');
    // Positive controls first: i1 reaches i2 on the other host, by name, and dig works there.
    await pingUntil(1, 'i1', 'i2');
    const i2ip = inspect(2, 'i2', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}');
    const sandbox = inspect(1, 'i1', '{{.NetworkSettings.SandboxKey}}');
    const dig = (name: string): string =>
      run('nsenter', [`--net=${sandbox}`, 'dig', '@127.0.0.11', '+tries=1', '+time=2', '+short', name], { timeoutMs: 10_000 }).stdout.trim();
    assert.equal(dig('i2'), i2ip, 'dig i2 from i1');
    for (const target of ['c1', 'c2']) {
      const ip = ctrs.get(target)?.ip as string;
      const r = h(1).berth(['exec', 'i1', 'ping', '-c', '2', '-W', '1', ip]);
      assert.notEqual(r.status, 0, `i1 on ov2 reached ${target}'s ov1 address ${ip}:\n${r.stdout}`);
      assert.ok(!dig(target).includes(ip), `i1 on ov2 resolved ${target}`);
    }
  });

  it('concurrent runs on all hosts get distinct addresses, one claim each in etcd', async () => {
    const jobs: Promise<void>[] = [];
    for (const i of [0, 1, 2]) for (let k = 1; k <= 4; k++) jobs.push(runOn(i, `p${i + 1}${k}`));
    const t0 = Date.now();
    const results = await Promise.allSettled(jobs);
    console.log(`12 concurrent runs on 3 hosts took ${Date.now() - t0} ms`);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(failed.length, 0, failed.map((f) => String(f.reason?.message ?? f.reason)).join('\n'));
    const ips = [...ctrs.values()].map((c) => c.ip);
    assert.equal(ips.length, 15);
    for (const ip of ips) assert.match(ip, /^10\.77\.0\.\d+$/);
    const dup = ips.filter((ip, i) => ips.indexOf(ip) !== i);
    assert.deepEqual(dup, [], `addresses given twice: ${[...ctrs].map(([n, c]) => `${n}=${c.ip}`).join(' ')}`);

    const claims = await etcdKeys(`${KEYS}addrs/${ov1}/`);
    assert.deepEqual(claims, [...ips].sort(), 'etcd address claims differ from the containers\' addresses');
    const eps = await cluster.etcdRange(`${KEYS}endpoints/${ov1}/`);
    assert.equal(eps.length, 15, 'etcd endpoints of ov1');
    const announced = eps.map((e) => (JSON.parse(e.value) as { containerId: string }).containerId).sort();
    assert.deepEqual(announced, [...ctrs.values()].map((c) => c.id).sort(), 'announced endpoints differ from the containers');
    // A remote one of the new ones is reachable.
    await pingUntil(0, 'c1', ctrs.get('p34')?.ip as string);
  });

  it('egress and published ports go through docker_gwbridge', async () => {
    for (const i of [0, 1, 2]) {
      assert.ok(networks(i).includes('docker_gwbridge bridge local'), `h${i + 1} has no docker_gwbridge: ${networks(i).join(', ')}`);
    }
    ok(h(0).berth(['run', '-d', '--network', 'ov1', '-p', '8080:80', '--name', 'web', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc']), 'run web');
    made[0]?.push('web');
    const webNets = Object.keys(JSON.parse(ok(h(0).berth(['inspect', 'web']), 'inspect web'))[0].NetworkSettings.Networks);
    assert.deepEqual(webNets, ['ov1'], 'the gwbridge endpoint must not show in inspect');
    const hostname = ok(h(0).berth(['exec', 'web', 'cat', '/etc/hostname']), 'cat /etc/hostname').trim();
    assert.notEqual(hostname, '');
    // From the underlay (another machine's view): the published port on h1's ul0.
    const { value: page } = await poll('GET http://198.18.0.1:8080/hostname from the underlay', 8_000, async () => {
      const r = await cluster.httpFromUnderlay(`http://${underlayAddress(0)}:8080/hostname`, { timeoutMs: 2_000 });
      return r.status === 200 ? { done: r.body } : `HTTP ${r.status}: ${r.body}`;
    }, 250);
    assert.equal(page.trim(), hostname);
    // Outbound: c1's default route leaves through gwbridge, masqueraded to h1's ul0 address.
    // (busybox `ip route show default` lists every route: pick the default one.)
    const routes = ok(h(0).berth(['exec', 'c1', 'ip', 'route']), 'ip route in c1');
    const dflt = /^default via (\S+) dev (\S+)/m.exec(routes);
    assert.ok(dflt !== null, `c1 has no default route: ${routes}`);
    assert.notEqual(dflt[2], 'eth0', `c1's default route is on the overlay: ${routes}`);
    assert.match(dflt[1] as string, /^172\./, `c1's default gateway is not docker_gwbridge's: ${routes}`);
    await pingUntil(0, 'c1', UNDERLAY_GATEWAY, 5_000);
  });

  it('a crashed daemon leaves etcd and the peers after the TTL, and comes back on restart', async () => {
    const h3ids = new Set([...ctrs.values()].filter((c) => c.host === 2).map((c) => c.id));
    const h3ips = new Set([...ctrs.values()].filter((c) => c.host === 2).map((c) => c.ip));
    const h3 = underlayAddress(2);
    assert.ok(h(2).pid !== undefined, 'h3 has no daemon');
    const fdbBefore = ok(h(0).inHost('bridge', ['fdb', 'show', 'dev', `vx-${short1}`]), 'bridge fdb on h1');
    assert.equal(fdbBefore.split('\n').filter((l) => l.includes(`dst ${h3} `) && l.includes('permanent')).length >= h3ids.size, true,
      `h1's FDB lacks h3's ${h3ids.size} endpoints before the crash:\n${fdbBefore}`);
    await h(2).killDaemon();
    const { ms } = await poll(`h3's endpoints leave etcd and h1's FDB after its lease (${TTL} s)`, (TTL + 6) * 1000, async () => {
      const eps = (await cluster.etcdRange(`${KEYS}endpoints/`)).map((e) => JSON.parse(e.value) as { containerId: string; vtep: string });
      const stale = eps.filter((e) => h3ids.has(e.containerId) || e.vtep === h3);
      const claims = (await etcdKeys(`${KEYS}addrs/${ov1}/`)).filter((ip) => h3ips.has(ip));
      const fdb = h(0).inHost('bridge', ['fdb', 'show', 'dev', `vx-${short1}`]).stdout.split('\n').filter((l) => l.includes(`dst ${h3} `));
      if (stale.length === 0 && claims.length === 0 && fdb.length === 0) return { done: true };
      return `${stale.length} endpoints, ${claims.length} address claims of h3 in etcd; h1 FDB: ${fdb.join(' | ')}`;
    }, 250);
    console.log(`h3 gone from etcd and h1's FDB ${ms} ms after SIGKILL (TTL ${TTL} s)`);
    // Its containers still run (their shims own them), but the other hosts no longer send to them.
    const c3ip = ctrs.get('c3')?.ip as string;
    const gone = h(0).berth(['exec', 'c1', 'ping', '-c', '1', '-W', '1', c3ip]);
    assert.notEqual(gone.status, 0, `c1 still reaches c3 on the crashed host:\n${gone.stdout}`);

    await cluster.restartDaemon(2);
    const c3 = ctrs.get('c3') as { id: string; ip: string };
    const back = await poll('h3 re-announces c3 after its restart', 10_000, async () => {
      const eps = (await cluster.etcdRange(`${KEYS}endpoints/${ov1}/`)).map((e) => JSON.parse(e.value) as { containerId: string });
      return eps.some((e) => e.containerId === c3.id) ? { done: true } : `${eps.length} endpoints, none of c3`;
    }, 250);
    console.log(`c3 back in etcd ${back.ms} ms after h3's daemon answered`);
    const claims = await etcdKeys(`${KEYS}addrs/${ov1}/`);
    for (const ip of h3ips) assert.ok(claims.includes(ip), `h3's address ${ip} is not claimed again: ${claims.join(' ')}`);
    const ping = await pingUntil(0, 'c1', c3.ip, 10_000);
    console.log(`c1 reaches c3 again ${ping.ms} ms later`);
  });

  it('network rm is refused while any host has a container on it, then removes it everywhere', async () => {
    const refused = h(1).berth(['network', 'rm', 'ov1']);
    assert.notEqual(refused.status, 0, 'network rm ov1 succeeded with containers on it');
    assert.match(refused.stderr, /has active endpoints/, refused.stderr);
    // h2 alone empty: still refused, the containers of h1 and h3 count.
    ok(h(1).berth(['rm', '-f', ...(made[1] as string[])]), 'rm on h2');
    const still = h(1).berth(['network', 'rm', 'ov1']);
    assert.notEqual(still.status, 0, 'network rm ov1 on an empty h2 succeeded while h1 and h3 have containers on it');
    assert.match(still.stderr, /has active endpoints/, still.stderr);
    ok(h(0).berth(['rm', '-f', ...(made[0] as string[])]), 'rm on h1');
    ok(h(2).berth(['rm', '-f', ...(made[2] as string[])]), 'rm on h3');
    ok(h(1).berth(['network', 'rm', 'ov1']), 'network rm ov1 on h2 with no containers left');
    for (const i of [0, 1, 2]) {
      const { ms } = await poll(`ov1 and its links gone from h${i + 1}`, 5_000, () => {
        const nets = networks(i).filter((n) => n.startsWith('ov1 '));
        const links = linkNames(i).filter((l) => l === `vx-${short1}` || l === `ov-${short1}`);
        return nets.length === 0 && links.length === 0 ? { done: true } : `listed: ${nets.join(', ')}; links: ${links.join(', ')}`;
      });
      console.log(`ov1 gone from h${i + 1} after ${ms} ms`);
    }
    assert.deepEqual(await cluster.etcdRange(`${KEYS}networks/${ov1}`), [], 'ov1 is still in etcd');
    assert.deepEqual(await cluster.etcdRange(`${KEYS}addrs/${ov1}/`), [], 'address claims of ov1 outlived it');
    assert.deepEqual(await cluster.etcdRange(`${KEYS}endpoints/${ov1}/`), [], 'endpoints of ov1 outlived it');
  });

  it('a daemon started while etcd is down serves its local networks and joins once etcd is back', async () => {
    await h(1).stopDaemon();
    const etcd = cluster.etcd;
    assert.ok(etcd !== undefined);
    await etcd.restart(async () => {
      await cluster.restartDaemon(1);
      ok(h(1).berth(['network', 'create', 'local1']), 'a local network on h2 while etcd is down');
      const refused = h(1).berth(['network', 'create', '-d', 'overlay', 'ov3']);
      assert.notEqual(refused.status, 0, 'an overlay network was created while etcd was down');
      assert.match(refused.stderr, /cluster/, refused.stderr);
    });
    const { ms } = await poll('h2 joins the cluster after etcd is back', 15_000, () => {
      const r = h(1).berth(['network', 'create', '-d', 'overlay', 'ov3']);
      return r.status === 0 ? { done: true } : `exit ${r.status}: ${r.stderr.trim()}`;
    }, 500);
    console.log(`h2 joined ${ms} ms after etcd came back`);
    await poll('ov3 (made on h2) shows on h1', 5_000, () => (networks(0).includes('ov3 overlay global') ? { done: true } : networks(0).join(', ')));
  });
});
