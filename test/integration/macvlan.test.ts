/**
 * macvlan end to end, with the real docker CLI against berthd in a throwaway host netns:
 *
 *   LAN netns (made here)            host netns (TestHost)            containers
 *   lan0 10.252.0.1/24  <── veth ──>  mvp<hex>  (the user's parent) ──macvlan──> eth0 in m1, m2
 *
 * The LAN peer is the network's gateway, as a router on a real segment would be. Proves: the
 * containers reach each other and the LAN peer; each shows the LAN its own MAC; the gateway is
 * not put on the host; nothing of berth's stays in the host netns after `network rm`, and the
 * user's parent survives; a missing parent, ipvlan, an 802.1q parent and a parent-less network
 * give their errors on this kernel. Traffic only between namespaces this test made.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { isRoot, run, sh, TestHost, type RunResult } from '../helpers/host.js';

const ROOT = isRoot();
const SKIP = ROOT ? false : 'needs root: integration tests create network namespaces and run containers';
if (!ROOT) console.warn('SKIPPED: macvlan integration tests need root (they create network namespaces)');

function ok(r: RunResult, what: string): string {
  assert.equal(r.status, 0, `${what} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** The stderr of a command that must fail. */
function fails(r: RunResult, what: string): string {
  assert.notEqual(r.status, 0, `${what} succeeded but should have failed: ${r.stdout}`);
  return r.stderr.trim();
}

describe('macvlan networks on a parent link', { skip: SKIP }, () => {
  let host: TestHost;
  const tag = randomBytes(3).toString('hex');
  const lan = `berth-itm-lan-${tag}`;
  const parent = `mvp${tag}`;
  const containers: string[] = [];
  /** Host links before the network: the same names must be there after it is removed. */
  let hostLinksBefore: string[] = [];

  const inLan = (args: string[]): RunResult => run('nsenter', [`--net=/run/netns/${lan}`, ...args], { timeoutMs: 10_000 });
  /** Host links, without the bridge ports of containers on the default bridge (c3's veth). */
  const hostLinks = (): string[] =>
    host.ipJson(['link', 'show']).filter((l) => l.master === undefined).map((l) => l.ifname as string).sort();
  const pings = (from: string, to: string): boolean => host.docker(['exec', from, 'ping', '-c', '1', '-W', '1', to]).status === 0;
  const runOn = (network: string, name: string): void => {
    containers.push(name);
    ok(host.docker(['run', '-d', '--network', network, '--name', name, 'busybox', 'sleep', '300']), `run ${name}`);
  };
  /** `addr/prefix mac` of eth<N> inside a container, read with the container's own `ip`. */
  const iface = (name: string, dev = 'eth0'): { addr: string; mac: string; link: string } => {
    const out = ok(host.docker(['exec', name, 'ip', 'addr', 'show', dev]), `ip addr in ${name}`);
    return {
      addr: /inet (\S+)/.exec(out)?.[1] ?? '',
      mac: /link\/ether (\S+)/.exec(out)?.[1] ?? '',
      link: /^\d+: (\S+):/m.exec(out)?.[1] ?? '',
    };
  };
  /** The LAN peer's neighbour table: ip → MAC. */
  const lanNeighbours = (): Map<string, string> => {
    const out = ok(inLan(['ip', '-json', 'neigh', 'show', 'dev', 'lan0']), 'ip neigh in the LAN');
    return new Map((JSON.parse(out || '[]') as any[]).filter((n) => n.lladdr !== undefined).map((n) => [n.dst, n.lladdr]));
  };

  before(async () => {
    host = await TestHost.start('berth-itm');
    // The segment: a veth from the host netns (the parent) to a LAN netns with the router.
    sh('ip', ['netns', 'add', lan]);
    sh('ip', ['-n', host.name, 'link', 'add', parent, 'type', 'veth', 'peer', 'name', 'lan0', 'netns', lan]);
    sh('ip', ['-n', host.name, 'link', 'set', parent, 'up']);
    sh('ip', ['-n', lan, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', lan, 'addr', 'add', '10.252.0.1/24', 'dev', 'lan0']);
    sh('ip', ['-n', lan, 'link', 'set', 'lan0', 'up']);
    hostLinksBefore = hostLinks();
  });

  after(async () => {
    // Containers outlive the daemon (the shim keeps them), so they go first.
    if (host !== undefined && containers.length > 0) host.docker(['rm', '-f', ...containers]);
    run('ip', ['netns', 'del', lan]);
    await host?.cleanup();
  });

  it('creates the network without changing the host netns', () => {
    ok(
      host.docker(['network', 'create', '-d', 'macvlan', '--subnet', '10.252.0.0/24', '--gateway', '10.252.0.1', '-o', `parent=${parent}`, 'mv']),
      'network create',
    );
    const inspect = JSON.parse(ok(host.docker(['network', 'inspect', 'mv']), 'network inspect'))[0];
    assert.equal(inspect.Driver, 'macvlan');
    assert.deepEqual(inspect.Options, { parent });
    assert.deepEqual(inspect.IPAM.Config, [{ Subnet: '10.252.0.0/24', Gateway: '10.252.0.1' }]);
    assert.deepEqual(hostLinks(), hostLinksBefore, 'network create added or removed host links');
    const addrs = host.ipJson(['-4', 'addr', 'show']).flatMap((l) => (l.addr_info as any[]).map((a) => a.local as string));
    assert.equal(addrs.some((a) => a.startsWith('10.252.')), false, 'the gateway must not be on the host');
  });

  it('gives two containers their own MACs on the segment; they reach each other and the LAN peer', () => {
    runOn('mv', 'm1');
    runOn('mv', 'm2');
    const m1 = iface('m1');
    const m2 = iface('m2');
    assert.equal(m1.addr, '10.252.0.2/24');
    assert.equal(m2.addr, '10.252.0.3/24');
    assert.equal(m1.mac, '02:42:0a:fc:00:02');
    assert.equal(m2.mac, '02:42:0a:fc:00:03');
    // A macvlan on the parent (`eth0@ifN`, the parent's index in the host netns).
    const parentIndex = host.ipJson(['link', 'show', parent])[0].ifindex as number;
    assert.equal(m1.link, `eth0@if${parentIndex}`);
    const inspected = ok(host.docker(['inspect', '-f', '{{.NetworkSettings.Networks.mv.MacAddress}}', 'm1']), 'inspect').trim();
    assert.equal(inspected, m1.mac);
    // Default route via the network's gateway, which is the LAN's router.
    assert.match(ok(host.docker(['exec', 'm1', 'ip', 'route', 'show', 'default']), 'route'), /^default via 10\.252\.0\.1 dev eth0/);

    assert.ok(pings('m1', '10.252.0.3'), `m1 cannot reach m2:\n${host.dump()}`);
    assert.ok(pings('m2', '10.252.0.2'), 'm2 cannot reach m1');
    assert.ok(pings('m1', '10.252.0.1'), 'm1 cannot reach the LAN peer');
    assert.ok(pings('m2', '10.252.0.1'), 'm2 cannot reach the LAN peer');
    assert.equal(inLan(['ping', '-c', '1', '-W', '1', '10.252.0.2']).status, 0, 'the LAN peer cannot reach m1');
    assert.equal(inLan(['ping', '-c', '1', '-W', '1', '10.252.0.3']).status, 0, 'the LAN peer cannot reach m2');

    // Names resolve through the embedded DNS, as on any user-defined network.
    assert.match(ok(host.docker(['exec', 'm1', 'nslookup', 'm2']), 'nslookup m2'), /Address:?\s+10\.252\.0\.3\b/);

    // What the LAN sees: each container with its own MAC, none of them the parent's.
    const neighbours = lanNeighbours();
    const parentMac = host.ipJson(['link', 'show', parent])[0].address as string;
    assert.equal(neighbours.get('10.252.0.2'), m1.mac);
    assert.equal(neighbours.get('10.252.0.3'), m2.mac);
    assert.notEqual(m1.mac, parentMac);
    assert.notEqual(m2.mac, parentMac);
    // Nothing of the containers' shows in the host netns.
    assert.deepEqual(hostLinks(), hostLinksBefore);
  });

  it('connects a running container to the network as eth1, and disconnects it', () => {
    runOn('bridge', 'c3');
    ok(host.docker(['network', 'connect', 'mv', 'c3']), 'network connect');
    const eth1 = iface('c3', 'eth1');
    assert.equal(eth1.addr, '10.252.0.4/24');
    assert.equal(eth1.mac, '02:42:0a:fc:00:04');
    assert.equal(host.docker(['exec', 'c3', 'ping', '-c', '1', '-W', '1', '-I', 'eth1', '10.252.0.1']).status, 0, 'c3 cannot reach the LAN on eth1');
    assert.equal(lanNeighbours().get('10.252.0.4'), eth1.mac);
    ok(host.docker(['network', 'disconnect', 'mv', 'c3']), 'network disconnect');
    assert.notEqual(host.docker(['exec', 'c3', 'ip', 'link', 'show', 'eth1']).status, 0, 'eth1 is still there after disconnect');
  });

  it(
    'restarts a container on the same address and MAC',
    () => {
      ok(host.docker(['restart', '-t', '0', 'm2']), 'restart m2');
      assert.equal(iface('m2').mac, '02:42:0a:fc:00:03');
      assert.ok(pings('m2', '10.252.0.1'), 'm2 cannot reach the LAN peer after a restart');
    },
  );

  it("refuses a parent that does not exist, in Docker's words", () => {
    const err = fails(host.docker(['network', 'create', '-d', 'macvlan', '--subnet', '10.253.0.0/24', '-o', 'parent=eth9', 'bad']), 'create on eth9');
    assert.equal(err, 'Error response from daemon: -o parent interface was not found on the host: eth9');
    assert.equal(host.docker(['network', 'inspect', 'bad']).status === 0, false);
  });

  it('says clearly that this kernel has no ipvlan', () => {
    const err = fails(host.docker(['network', 'create', '-d', 'ipvlan', '--subnet', '10.254.0.0/24', '-o', `parent=${parent}`, 'iv']), 'ipvlan');
    assert.equal(err, "Error response from daemon: the ipvlan driver needs the kernel's ipvlan module, which this kernel does not have");
  });

  it('an 802.1q parent: created and owned where the kernel allows it, a clear error where not', () => {
    const r = host.docker(['network', 'create', '-d', 'macvlan', '--subnet', '10.255.0.0/24', '-o', `parent=${parent}.10`, 'vl']);
    if (r.status === 0) {
      const vlan = host.ipJson(['-d', 'link', 'show', `${parent}.10`])[0];
      assert.equal(vlan.linkinfo.info_kind, 'vlan');
      assert.equal(vlan.linkinfo.info_data.id, 10);
      ok(host.docker(['network', 'rm', 'vl']), 'network rm vl');
      assert.deepEqual(hostLinks(), hostLinksBefore, 'the VLAN link berth made outlived its network');
    } else {
      assert.equal(
        r.stderr.trim(),
        `Error response from daemon: -o parent=${parent}.10 needs an 802.1q VLAN link ${parent}.10 (id 10 on ${parent}), which berth would create, ` +
          'but this kernel has no 802.1q VLAN support (link type "vlan"): use an interface that exists as the parent',
      );
    }
    const noParent = fails(host.docker(['network', 'create', '-d', 'macvlan', '--subnet', '10.255.1.0/24', 'np']), 'macvlan without parent');
    assert.match(noParent, /^Error response from daemon: the macvlan driver needs -o parent=<host interface> on this host: without one it creates a dummy link \(dm-[0-9a-f]{12}\) as the parent, and this kernel has no dummy link type$/);
    assert.deepEqual(hostLinks(), hostLinksBefore);
  });

  it('private mode: containers reach the LAN but not each other', () => {
    ok(host.docker(['rm', '-f', 'm1', 'm2']), 'rm m1 m2');
    ok(host.docker(['network', 'rm', 'mv']), 'network rm mv');
    assert.deepEqual(hostLinks(), hostLinksBefore, 'host links differ after network rm');
    ok(
      host.docker(['network', 'create', '-d', 'macvlan', '--subnet', '10.252.0.0/24', '--gateway', '10.252.0.1',
        '-o', `parent=${parent}`, '-o', 'macvlan_mode=private', 'mvp']),
      'create private',
    );
    runOn('mvp', 'p1');
    runOn('mvp', 'p2');
    const p2 = iface('p2').addr.split('/')[0] ?? '';
    assert.match(p2, /^10\.252\.0\.\d+$/);
    assert.ok(pings('p1', '10.252.0.1'), 'p1 cannot reach the LAN peer');
    assert.ok(pings('p2', '10.252.0.1'), 'p2 cannot reach the LAN peer');
    assert.equal(pings('p1', p2), false, 'private macvlans reached each other');
  });

  it('removing the networks removes what berth made, never the parent', () => {
    ok(host.docker(['rm', '-f', 'p1', 'p2', 'c3']), 'rm containers');
    ok(host.docker(['network', 'rm', 'mvp']), 'network rm');
    assert.deepEqual(hostLinks(), hostLinksBefore, 'host links differ after network rm');
    assert.ok(hostLinks().includes(parent), 'the parent link is gone');
    const left = ok(host.docker(['network', 'ls', '--format', '{{.Name}}']), 'network ls').trim().split('\n').sort();
    assert.deepEqual(left, ['bridge', 'host', 'none']);
    // The containers' macvlans went with their sandboxes: the LAN hears none of them. The kernel
    // destroys a dropped netns (and its links) asynchronously, batched: allow it a few seconds.
    const deadline = Date.now() + 10_000;
    let answered = true;
    while (answered && Date.now() < deadline) {
      answered = inLan(['ping', '-c', '1', '-W', '1', '10.252.0.2']).status === 0;
    }
    console.log(`gone after ${10_000 - (deadline - Date.now())} ms`);
    assert.equal(answered, false, 'a removed container still answers on the segment');
  });
});
