/**
 * NetlinkKernel and the native addon against the real kernel.
 *
 * Never touches the machine's root network namespace: every namespace is created by the addon
 * under a fresh mkdtemp directory (prefix `berth-kt-`), and only those paths are ever passed
 * as NetnsRef (never null). The root netns is only *read* (ip_forward, nft ruleset) to prove
 * it did not change. Behaviour is proved with real packets (ping from the "container") and
 * cross-checked with `ip -json` / `bridge -json` through `nsenter --net=…`.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';

import { KernelError } from '../../src/errors.js';
import { loadNative } from '../../src/kernel/native.js';
import { NetlinkKernel } from '../../src/kernel/netlink-kernel.js';
import type { LinkState } from '../../src/kernel/types.js';

const ROOT = process.getuid?.() === 0;

/** Runs a command with a timeout and returns stdout; throws with stderr on failure. */
function exec(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, [...args], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `ip -json …` inside a netns we made. */
function ipJson(netns: string, args: readonly string[]): any[] {
  return JSON.parse(exec('nsenter', [`--net=${netns}`, 'ip', '-json', ...args])) as any[];
}

/** fds of this process, as readlink targets. */
function openFds(): string[] {
  const out: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      out.push(fs.readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // the fd of the directory listing itself, closed by now
    }
  }
  return out;
}

/** Mount points under `dir`, from our mount table. */
function mountsUnder(dir: string): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((mountPoint) => mountPoint === dir || mountPoint.startsWith(`${dir}/`));
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] ?? NaN;
};

test('NetlinkKernel on the real kernel (inside namespaces of its own)', async (t: TestContext) => {
  if (!ROOT) {
    console.warn('SKIPPED: kernel integration test needs root (network namespaces, netlink)');
    t.skip('needs root: creates network namespaces and links (run as root)');
    return;
  }

  // Warm up what opens fds lazily (libuv's child-process signal pipe), then take the baseline.
  exec('true', []);
  const fdsBefore = openFds();
  const threadNetnsBefore = fs.statSync('/proc/thread-self/ns/net').ino;
  const rootForwarding = fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
  const rootRuleset = exec('nft', ['-j', 'list', 'ruleset']);

  const native = loadNative();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-kt-'));
  const hostNs = path.join(dir, 'host');
  const ctrNs = path.join(dir, 'ctr');
  const kernel = new NetlinkKernel();

  /** On failure, what a human needs to see. */
  const dump = (): void => {
    for (const ns of [hostNs, ctrNs]) {
      if (!fs.existsSync(ns)) continue;
      for (const args of [['ip', '-d', 'addr'], ['ip', 'route'], ['nft', 'list', 'ruleset']]) {
        try {
          console.log(`--- ${ns}: ${args.join(' ')}\n${exec('nsenter', [`--net=${ns}`, ...args])}`);
        } catch (err) {
          console.log(`--- ${ns}: ${args.join(' ')} failed: ${String(err)}`);
        }
      }
    }
  };
  const step = (name: string, fn: () => void | Promise<void>) =>
    t.test(name, async () => {
      try {
        await fn();
      } catch (err) {
        dump();
        throw err;
      }
    });

  t.after(() => {
    // Runs when a step failed too: every namespace, mount and fd we made goes.
    kernel.release();
    for (const entry of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      try {
        native.netnsDelete(path.join(dir, entry));
      } catch (err) {
        console.error(`cleanup: ${String(err)}`);
      }
    }
    while (fs.existsSync(dir) && native.unmount(dir)) {
      // netnsDirSetup bound the directory onto itself
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  await step('creates namespaces in a shared directory, without leaving its own', () => {
    kernel.netnsDirSetup(dir);
    kernel.netnsDirSetup(dir); // idempotent
    kernel.netnsAdd(hostNs);
    kernel.netnsAdd(ctrNs);
    assert.throws(() => kernel.netnsAdd(ctrNs), (err: unknown) => err instanceof KernelError && err.errno === 17);
    const inodes = [hostNs, ctrNs].map((p) => fs.statSync(p).ino);
    assert.equal(new Set([...inodes, threadNetnsBefore]).size, 3, 'two new namespaces, distinct from ours');
    assert.equal(fs.statSync('/proc/thread-self/ns/net').ino, threadNetnsBefore);
    assert.deepEqual(mountsUnder(dir).sort(), [dir, ctrNs, hostNs].sort());
  });

  await step('builds a bridge and a container on it, and a ping crosses the veth', () => {
    kernel.linkAdd(hostNs, {
      name: 'br0',
      info: { kind: 'bridge' },
      mac: '02:42:0a:4d:00:01',
      mtu: 1450,
      alias: 'berth:net:test',
      up: true,
    });
    kernel.addrAdd(hostNs, 'br0', '10.77.0.1/16');
    kernel.addrAdd(hostNs, 'br0', 'fd77::1/64');
    kernel.linkAdd(hostNs, {
      name: 'vb0',
      info: { kind: 'veth', peerName: 'eth0', peerNetns: ctrNs, peerMac: '02:42:0a:4d:00:02', peerUp: true },
      mac: '02:42:0a:4d:ff:02',
      mtu: 1450,
      master: 'br0',
      up: true,
      group: 77,
    });
    kernel.addrAdd(ctrNs, 'eth0', '10.77.0.2/16');
    kernel.addrAdd(ctrNs, 'eth0', 'fd77::2/64');
    kernel.linkSet({ kind: 'link-set', netns: ctrNs, name: 'lo', up: true });
    kernel.routeAdd(ctrNs, 'default', '10.77.0.1');
    kernel.routeAdd(ctrNs, 'default6', 'fd77::1', 'eth0');

    // Real packets, both families.
    exec('nsenter', [`--net=${ctrNs}`, 'ping', '-c1', '-W1', '10.77.0.1']);
    exec('nsenter', [`--net=${ctrNs}`, 'ping', '-6', '-c1', '-W1', 'fd77::1']);
  });

  await step('reads back what it made, as `ip -json` sees it', () => {
    const hostLinks = new Map(kernel.listLinks(hostNs).map((l) => [l.name, l]));
    const br0 = hostLinks.get('br0') as LinkState;
    assert.deepEqual({ ...br0, index: 0 }, {
      index: 0,
      name: 'br0',
      kind: 'bridge',
      mac: '02:42:0a:4d:00:01',
      mtu: 1450,
      up: true,
      master: undefined,
      alias: 'berth:net:test',
      group: 0,
    });
    const vb0 = hostLinks.get('vb0') as LinkState;
    assert.equal(vb0.kind, 'veth');
    assert.equal(vb0.master, br0.index);
    assert.equal(vb0.group, 77);
    assert.equal(vb0.up, true);

    const [ipBr0] = ipJson(hostNs, ['-d', 'link', 'show', 'br0']);
    assert.equal(ipBr0.address, '02:42:0a:4d:00:01');
    assert.equal(ipBr0.mtu, 1450);
    assert.equal(ipBr0.ifalias, 'berth:net:test');
    assert.equal(ipBr0.linkinfo.info_kind, 'bridge');
    assert.ok(ipBr0.flags.includes('UP'));
    const [ipVb0] = ipJson(hostNs, ['link', 'show', 'vb0']);
    assert.equal(ipVb0.master, 'br0');

    const globalAddrs = (ns: string) =>
      kernel
        .listAddrs(ns)
        .filter((a) => !a.cidr.startsWith('fe80:') && !a.cidr.startsWith('127.') && a.cidr !== '::1/128')
        .map((a) => a.cidr);
    assert.deepEqual(globalAddrs(hostNs), ['10.77.0.1/16', 'fd77::1/64']);
    assert.deepEqual(globalAddrs(ctrNs), ['10.77.0.2/16', 'fd77::2/64']);
    const [ipBr0Addrs] = ipJson(hostNs, ['addr', 'show', 'dev', 'br0']);
    assert.deepEqual(
      ipBr0Addrs.addr_info.filter((a: any) => a.scope === 'global').map((a: any) => `${a.local}/${a.prefixlen}`),
      ['10.77.0.1/16', 'fd77::1/64'],
    );
    assert.equal(ipBr0Addrs.addr_info[0].broadcast, '10.77.255.255');

    const eth0 = kernel.listLinks(ctrNs).find((l) => l.name === 'eth0');
    assert.equal(eth0?.up, true);
    assert.equal(eth0?.mac, '02:42:0a:4d:00:02');
    assert.equal(eth0?.mtu, 1450, 'the peer takes the link MTU');
    const routes = kernel.listRoutes(ctrNs);
    assert.deepEqual(
      routes.filter((r) => r.dst === 'default'),
      [
        { family: 4, dst: 'default', gateway: '10.77.0.1', oif: eth0.index },
        { family: 6, dst: 'default', gateway: 'fd77::1', oif: eth0.index },
      ],
    );
    assert.ok(routes.some((r) => r.dst === '10.77.0.0/16' && r.gateway === undefined));
    const ipRoutes = ipJson(ctrNs, ['route', 'show']);
    assert.deepEqual(
      ipRoutes.filter((r: any) => r.dst === 'default').map((r: any) => [r.gateway, r.dev]),
      [['10.77.0.1', 'eth0']],
    );
  });

  await step('changes links: rename, MTU, MAC, master, down; macvlan on a parent', () => {
    kernel.linkAdd(hostNs, { name: 'va0', info: { kind: 'veth', peerName: 'vz0', peerNetns: hostNs } });
    kernel.linkSet({ kind: 'link-set', netns: hostNs, name: 'vz0', newName: 'vz1', mtu: 1400, mac: '02:00:00:00:77:01', master: 'br0', up: true });
    let vz1 = ipJson(hostNs, ['link', 'show', 'vz1'])[0];
    assert.deepEqual([vz1.mtu, vz1.address, vz1.master, vz1.flags.includes('UP')], [1400, '02:00:00:00:77:01', 'br0', true]);
    kernel.linkSet({ kind: 'link-set', netns: hostNs, name: 'vz1', master: null, up: false });
    vz1 = ipJson(hostNs, ['link', 'show', 'vz1'])[0];
    assert.deepEqual([vz1.master, vz1.flags.includes('UP')], [undefined, false]);

    kernel.linkAdd(hostNs, { name: 'mv0', info: { kind: 'macvlan', mode: 'bridge', parent: 'va0' } });
    const [mv0] = ipJson(hostNs, ['-d', 'link', 'show', 'mv0']);
    assert.equal(mv0.linkinfo.info_kind, 'macvlan');
    assert.equal(mv0.linkinfo.info_data.mode, 'bridge');
    assert.equal(mv0.link, 'va0');
    kernel.linkDel(hostNs, 'mv0');
    kernel.linkDel(hostNs, 'va0');
    assert.deepEqual(
      kernel.listLinks(hostNs).map((l) => l.name).filter((n) => /^(mv0|va0|vz1)$/.test(n)),
      [],
      'deleting one end of a veth deletes the pair',
    );
  });

  await step('macvlan from the host straight into another netns; type probes create nothing; guarded delete', () => {
    const mvNs = path.join(dir, 'mv');
    kernel.netnsAdd(mvNs);
    kernel.linkAdd(hostNs, { name: 'pa0', info: { kind: 'veth', peerName: 'pz0', peerNetns: hostNs }, up: true });
    // Born in mvNs under a temporary name, parent found in hostNs; then renamed there.
    kernel.linkAdd(hostNs, {
      name: 'tmv0',
      info: { kind: 'macvlan', mode: 'private', parent: 'pa0' },
      mac: '02:42:0a:4d:00:09',
      targetNetns: mvNs,
      alias: 'berth:ep:test',
    });
    assert.equal(kernel.listLinks(hostNs).some((l) => l.name === 'tmv0'), false, 'the macvlan showed up in the host netns');
    kernel.linkSet({ kind: 'link-set', netns: mvNs, name: 'tmv0', newName: 'eth0' });
    kernel.linkSet({ kind: 'link-set', netns: mvNs, name: 'eth0', up: true });
    const [eth0] = ipJson(mvNs, ['-d', 'link', 'show', 'eth0']);
    assert.deepEqual(
      [eth0.linkinfo.info_kind, eth0.linkinfo.info_data.mode, eth0.address, eth0.ifalias, eth0.flags.includes('UP')],
      ['macvlan', 'private', '02:42:0a:4d:00:09', 'berth:ep:test', true],
    );

    // Probes: the answer matches what `ip link add` gets, and no link appears.
    const before = kernel.listLinks(hostNs).map((l) => l.name);
    for (const kind of ['macvlan', 'ipvlan', 'vlan', 'dummy'] as const) {
      const args = kind === 'dummy' ? ['link', 'add', 'pr0', 'type', kind] : ['link', 'add', 'link', 'pa0', 'name', 'pr0', 'type', kind, ...(kind === 'vlan' ? ['id', '7'] : [])];
      let ipWorks = true;
      try {
        exec('nsenter', [`--net=${hostNs}`, 'ip', ...args]);
        exec('nsenter', [`--net=${hostNs}`, 'ip', 'link', 'del', 'pr0']);
      } catch {
        ipWorks = false;
      }
      assert.equal(kernel.linkKindSupported(hostNs, kind), ipWorks, `probe of ${kind} disagrees with ip link add`);
    }
    assert.deepEqual(kernel.listLinks(hostNs).map((l) => l.name), before, 'a probe left a link behind');

    // A delete guarded by an alias leaves a link without it alone.
    kernel.linkDel(mvNs, 'eth0', 'berth:net:someone-else');
    assert.equal(kernel.listLinks(mvNs).some((l) => l.name === 'eth0'), true);
    kernel.linkDel(mvNs, 'eth0', 'berth:ep:test');
    assert.equal(kernel.listLinks(mvNs).some((l) => l.name === 'eth0'), false);
    kernel.linkDel(hostNs, 'pa0');
    kernel.netnsDel(mvNs);
  });

  await step('vxlan with FDB remotes, and permanent neighbours', () => {
    kernel.linkAdd(hostNs, { name: 'vx0', info: { kind: 'vxlan', vni: 42, port: 4789, local: '10.77.0.1', dev: 'br0', learning: false } });
    const [vx0] = ipJson(hostNs, ['-d', 'link', 'show', 'vx0']);
    assert.deepEqual(
      [vx0.linkinfo.info_kind, vx0.linkinfo.info_data.id, vx0.linkinfo.info_data.port, vx0.linkinfo.info_data.local, vx0.linkinfo.info_data.learning, vx0.linkinfo.info_data.link],
      ['vxlan', 42, 4789, '10.77.0.1', false, 'br0'],
    );
    kernel.fdbAdd(hostNs, 'vx0', '00:00:00:00:00:00', '192.0.2.10');
    kernel.fdbAdd(hostNs, 'vx0', '00:00:00:00:00:00', '192.0.2.11');
    kernel.fdbAdd(hostNs, 'vx0', '00:00:00:00:00:00', '192.0.2.11'); // appending a known remote is a no-op
    kernel.fdbAdd(hostNs, 'vx0', '02:42:0a:4e:00:05', '192.0.2.10');
    assert.throws(() => kernel.fdbAdd(hostNs, 'vx0', '02:42:0a:4e:00:05', '192.0.2.10'), (err: unknown) => err instanceof KernelError && err.errno === 17);
    const fdb = () =>
      (JSON.parse(exec('nsenter', [`--net=${hostNs}`, 'bridge', '-json', 'fdb', 'show', 'dev', 'vx0'])) as any[])
        .map((e) => `${e.mac} ${e.dst}`)
        .sort();
    assert.deepEqual(fdb(), ['00:00:00:00:00:00 192.0.2.10', '00:00:00:00:00:00 192.0.2.11', '02:42:0a:4e:00:05 192.0.2.10']);
    kernel.fdbDel(hostNs, 'vx0', '00:00:00:00:00:00', '192.0.2.11');
    kernel.fdbDel(hostNs, 'vx0', '00:00:00:00:00:00', '192.0.2.11'); // already gone
    assert.deepEqual(fdb(), ['00:00:00:00:00:00 192.0.2.10', '02:42:0a:4e:00:05 192.0.2.10']);

    kernel.neighAdd(hostNs, 'br0', '10.77.0.99', '02:42:0a:4d:00:63');
    const neigh = () => ipJson(hostNs, ['neigh', 'show', 'dev', 'br0']).filter((n: any) => n.dst === '10.77.0.99');
    assert.deepEqual(
      neigh().map((n: any) => [n.lladdr, n.state]),
      [['02:42:0a:4d:00:63', ['PERMANENT']]],
    );
    kernel.neighDel(hostNs, 'br0', '10.77.0.99');
    kernel.neighDel(hostNs, 'br0', '10.77.0.99');
    assert.deepEqual(neigh(), []);
    kernel.linkDel(hostNs, 'vx0');
  });

  await step('fails with errno and a readable message; deletes accept "already gone"', () => {
    assert.throws(
      () => kernel.linkAdd(hostNs, { name: 'br0', info: { kind: 'bridge' } }),
      (err: unknown) => err instanceof KernelError && err.errno === 17 && err.message === `link-add br0 in netns ${hostNs}: File exists (EEXIST)`,
    );
    // This kernel has no 802.1q; the kernel's own words come through (extended ack).
    assert.throws(
      () => kernel.linkAdd(hostNs, { name: 'vl0', info: { kind: 'vlan', id: 5, parent: 'br0' } }),
      (err: unknown) => err instanceof KernelError && err.errno === 95 && /Unknown device type: Operation not supported \(EOPNOTSUPP\)$/.test(err.message),
    );
    assert.throws(
      () => kernel.addrAdd(hostNs, 'nope0', '10.0.0.1/8'),
      (err: unknown) => err instanceof KernelError && err.errno === 19 && err.netns === hostNs,
    );
    assert.throws(() => kernel.routeAdd(ctrNs, 'default', '10.77.0.1'), (err: unknown) => err instanceof KernelError && err.errno === 17);
    kernel.linkDel(hostNs, 'nope0');
    kernel.addrDel(hostNs, 'br0', '10.99.0.1/24');
    kernel.addrDel(hostNs, 'nope0', '10.99.0.1/24');
    kernel.routeDel(ctrNs, '10.55.0.0/16');
    kernel.routeDel(ctrNs, 'default6', 'fd77::1', 'eth0');
    kernel.routeDel(ctrNs, 'default6', 'fd77::1', 'eth0');
    kernel.linkDel(path.join(dir, 'never-made'), 'eth0');
    kernel.netnsDel(path.join(dir, 'never-made'));
  });

  await step('sysctls inside a netns leave the root netns alone', () => {
    kernel.sysctlSet(hostNs, 'net/ipv4/ip_forward', '1');
    assert.equal(kernel.sysctlGet(hostNs, 'net/ipv4/ip_forward'), '1');
    kernel.sysctlSet(hostNs, 'net/ipv4/conf/br0/rp_filter', '2');
    assert.equal(kernel.sysctlGet(hostNs, 'net/ipv4/conf/br0/rp_filter'), '2');
    assert.equal(kernel.sysctlGet(ctrNs, 'net/ipv4/ip_forward'), '0');
    assert.equal(fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'), rootForwarding);
    assert.throws(() => kernel.sysctlGet(ctrNs, 'net/ipv4/conf/br0/rp_filter'), (err: unknown) => err instanceof KernelError && err.errno === 2);
    assert.throws(() => kernel.sysctlSet(hostNs, '../../etc/passwd', 'x'), /without '\.\.'/);
  });

  await step('applies and lists an nft ruleset inside the netns', async () => {
    await kernel.nftApply(hostNs, 'table inet berth_kt {\n  chain berth_forward {\n    type filter hook forward priority 0; policy accept;\n  }\n}\n');
    const listed = (await kernel.nftList(hostNs)) as { nftables: any[] };
    assert.ok(listed.nftables.some((e) => e.table?.name === 'berth_kt' && e.table.family === 'inet'));
    assert.ok(listed.nftables.some((e) => e.chain?.name === 'berth_forward' && e.chain.hook === 'forward'));
    await assert.rejects(
      kernel.nftApply(hostNs, 'table inet berth_kt { nonsense }\n'),
      (err: unknown) => err instanceof KernelError && err.exec?.status === 1 && err.exec.argv[0] === 'nsenter' && /syntax error/.test(err.exec.stderr),
    );
    assert.equal(exec('nft', ['-j', 'list', 'ruleset']), rootRuleset, 'the root netns ruleset is untouched');
  });

  await step('deletes a netns with stacked bind mounts (unlink alone gives EBUSY)', () => {
    const stacked = path.join(dir, 'stacked');
    kernel.netnsAdd(stacked);
    exec('mount', ['--bind', stacked, stacked]);
    exec('mount', ['--bind', stacked, stacked]);
    assert.throws(() => fs.unlinkSync(stacked), /EBUSY/);
    kernel.netnsDel(stacked);
    assert.equal(fs.existsSync(stacked), false);
    assert.deepEqual(mountsUnder(stacked), []);
  });

  await step('a netns deleted in a shared directory disappears from a slave mount namespace too', async () => {
    const extra = path.join(dir, 'pinned');
    kernel.netnsAdd(extra);
    // Like `ip netns exec` or a container runtime: a new mount namespace, slave of ours.
    const child = spawn('unshare', ['--mount', '--propagation', 'slave', 'sleep', '20'], { stdio: 'ignore' });
    try {
      const childMounts = () => fs.readFileSync(`/proc/${child.pid}/mountinfo`, 'utf8');
      for (let i = 0; i < 100 && !childMounts().includes(extra); i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(childMounts().includes(extra), 'the child mount namespace has a copy of the netns mount');
      kernel.netnsDel(extra);
      assert.ok(!childMounts().includes(extra), 'the unmount propagated: nothing pins the deleted netns');
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
  });

  await step('deletes links off the main thread (linkDelAsync): a bridge, a veth pair, an alias check, an absent link', async () => {
    kernel.linkAdd(hostNs, { name: 'br-async', info: { kind: 'bridge' }, alias: 'berth:net:async', up: true });
    kernel.linkAdd(hostNs, { name: 'va-host', info: { kind: 'veth', peerName: 'va-peer', peerNetns: hostNs }, up: true });
    // The event loop keeps turning while the kernel waits for RCU.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    await kernel.linkDelAsync(hostNs, 'br-async', 'berth:net:other');
    assert.ok(ipJson(hostNs, ['link', 'show']).some((l) => l.ifname === 'br-async'), 'deleted a link whose alias is not the one asked for');
    await Promise.all([kernel.linkDelAsync(hostNs, 'br-async', 'berth:net:async'), kernel.linkDelAsync(hostNs, 'va-host')]);
    clearInterval(timer);
    const names = ipJson(hostNs, ['link', 'show']).map((l) => l.ifname);
    assert.ok(!names.includes('br-async') && !names.includes('va-host') && !names.includes('va-peer'), names.join(' '));
    await kernel.linkDelAsync(hostNs, 'br-async'); // absent: success
    await kernel.linkDelAsync(path.join(dir, 'no-such-netns'), 'x'); // netns gone: success
    console.log(`linkDelAsync: the event loop ticked ${ticks} times meanwhile`);
  });

  await step('measures a full container setup over netlink (median of 50)', () => {
    const setup: number[] = [];
    const teardown: number[] = [];
    for (let i = 0; i < 55; i++) {
      const ns = path.join(dir, `c${i}`);
      const started = performance.now();
      kernel.netnsAdd(ns);
      kernel.linkAdd(hostNs, {
        name: `vb${i + 1}`,
        info: { kind: 'veth', peerName: 'eth0', peerNetns: ns, peerUp: true, peerMac: `02:42:0a:4d:01:${(i + 3).toString(16).padStart(2, '0')}` },
        master: 'br0',
        up: true,
      });
      kernel.addrAdd(ns, 'eth0', `10.77.1.${i + 3}/16`);
      kernel.linkSet({ kind: 'link-set', netns: ns, name: 'lo', up: true });
      kernel.routeAdd(ns, 'default', '10.77.0.1');
      const built = performance.now();
      // Teardown by dropping the netns: the kernel destroys the veth pair later, batched.
      kernel.netnsDel(ns);
      const dropped = performance.now();
      if (i >= 5) {
        setup.push(built - started);
        teardown.push(dropped - built);
      }
    }
    console.log(
      `container network over netlink (netns + veth on bridge + addr + lo up + default route), ` +
        `median of ${setup.length}: setup ${median(setup).toFixed(2)} ms, teardown (drop netns) ${median(teardown).toFixed(2)} ms`,
    );
    const started = performance.now();
    kernel.linkDel(hostNs, 'vb0');
    console.log(`deleting a veth synchronously: ${(performance.now() - started).toFixed(1)} ms`);
  });

  await step('tears everything down: no mounts, no namespaces, no fds left', () => {
    kernel.linkDel(hostNs, 'br0');
    assert.equal(kernel.listLinks(hostNs).some((l) => l.name === 'br0'), false);
    kernel.netnsDel(ctrNs);
    kernel.netnsDel(hostNs);
    kernel.netnsDel(hostNs);
    kernel.release();
    assert.deepEqual(mountsUnder(dir), [dir], 'only the shared directory mount is left (removed in cleanup)');
    assert.deepEqual(fs.readdirSync(dir), []);
    assert.equal(fs.statSync('/proc/thread-self/ns/net').ino, threadNetnsBefore);
    const fdsAfter = openFds();
    assert.deepEqual(
      fdsAfter.filter((f) => f.startsWith('net:[') || f.startsWith('socket:[')).length,
      fdsBefore.filter((f) => f.startsWith('net:[') || f.startsWith('socket:[')).length,
      'no netns fd or netlink socket left open',
    );
    assert.ok(fdsAfter.length <= fdsBefore.length, `fds before ${fdsBefore.length}, after ${fdsAfter.length}: ${fdsAfter.join(' ')}`);
  });
});
