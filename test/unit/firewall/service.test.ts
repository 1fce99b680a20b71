import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BerthError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/engine/log.js';
import { KernelNftApplier, type NftApplier } from '../../../src/firewall/nft-session.js';
import { MemoryPortRecords } from '../../../src/firewall/port-records.js';
import { FirewallService } from '../../../src/firewall/service.js';
import { FakeKernel } from '../../../src/kernel/fake-kernel.js';
import { bridgeNetwork, container, defaultBridge, endpoint, otherPredefined, snapshot, withStatus } from './fixtures.js';

function setup(records = new MemoryPortRecords(), kernel = new FakeKernel(), nft: NftApplier = new KernelNftApplier(kernel)) {
  const service = new FirewallService({ kernel, nft, records, log: silentLogger });
  return { kernel, service, records };
}

const def = defaultBridge();
const networks = [...otherPredefined(), def];

describe('FirewallService', () => {
  it('refuses a start whose host port is taken, with Docker\'s message, recording nothing', async () => {
    const { service, records } = setup();
    const a = container('a', { ports: { '80/tcp': [['', '8080']] } });
    const b = container('b', { running: false, ports: { '80/tcp': [['', '8080']] } });
    const epA = endpoint(a, def, '172.17.0.2/16');
    const epB = endpoint(b, def, '172.17.0.3/16');
    const snap = snapshot(networks, [a, b], [epA, epB]);
    service.beforeStart(a, snap);
    await service.sync(snap);
    let err: unknown;
    try {
      service.beforeStart(b, snap);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof BerthError);
    assert.equal(err.code, 'ERR_PORT_ALLOCATED');
    assert.equal(
      err.message,
      `driver failed programming external connectivity on endpoint b (${epB.id}): Bind for 0.0.0.0:8080 failed: port is already allocated`,
    );
    assert.equal(records.read(b.id), undefined);
    // Once a has stopped, the port is free again: taken ports are those of running containers.
    const later = snapshot(networks, [withStatus(a, false), b], [epA, epB]);
    await service.sync(later);
    service.beforeStart(b, later);
    assert.deepEqual(records.read(b.id), [{ containerPort: 80, proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080 }]);
  });

  it('a start that failed after beforeStart holds no port', () => {
    const { service } = setup();
    const a = container('a', { running: false, ports: { '80/tcp': [['', '8080']] } });
    const b = container('b', { running: false, ports: { '80/tcp': [['', '8080']] } });
    const snap = snapshot(networks, [a, b], [endpoint(a, def, '172.17.0.2/16'), endpoint(b, def, '172.17.0.3/16')]);
    service.beforeStart(a, snap); // a never became running
    service.beforeStart(b, snap);
  });

  it('after a restart, the same records give the same ruleset, applied as one replace', async () => {
    const records = new MemoryPortRecords();
    const app = bridgeNetwork('app', '172.18.0.0/16');
    const a = container('a', { ports: { '80/tcp': [['', '']] } });
    const snap = snapshot([...networks, app], [a], [endpoint(a, app, '172.18.0.2/16')]);
    const first = setup(records);
    first.service.beforeStart(a, snap);
    await first.service.sync(snap);
    const second = setup(records);
    await second.service.sync(snap);
    assert.equal(second.kernel.nftScripts.length, 1);
    assert.equal(second.kernel.nftScripts[0]?.script, first.kernel.nftScripts[0]?.script);
    assert.equal(second.service.lastSync.kind, 'replace');
    assert.deepEqual(second.service.publishedPorts(a.id), first.service.publishedPorts(a.id));
  });

  it('network changes are element updates; a failed update falls back to a replace', async () => {
    const kernel = new FakeKernel();
    const scripts: string[] = [];
    let failNext = false;
    const nft: NftApplier = {
      kind: 'test',
      async apply(script) {
        if (failNext) {
          failNext = false;
          throw new Error('element exists');
        }
        scripts.push(script);
      },
      close() {},
    };
    const { service } = setup(new MemoryPortRecords(), kernel, nft);
    await service.sync(snapshot(networks, [], []));
    assert.equal(service.lastSync.kind, 'replace');
    const app = bridgeNetwork('app', '172.18.0.0/16');
    await service.sync(snapshot([...networks, app], [], []));
    assert.equal(service.lastSync.kind, 'elements');
    assert.match(scripts[1] ?? '', /^add element inet berth bridges \{ "br-[0-9a-f]{12}" comment "[0-9a-f]{12}" \}$/m);
    assert.ok(!(scripts[1] ?? '').includes('table'), 'an element update must not touch the tables');
    failNext = true;
    await service.sync(snapshot(networks, [], []));
    assert.equal(service.lastSync.kind, 'replace');
    assert.match(scripts[2] ?? '', /^add table inet berth$/m);
  });

  it('a failed replace is retried on the next sync, and forwarding stays off until rules are in', async () => {
    const kernel = new FakeKernel();
    kernel.nftError = new Error('nft: no');
    const { service } = setup(new MemoryPortRecords(), kernel);
    await assert.rejects(service.sync(snapshot(networks, [], [])), /nft: no/);
    assert.deepEqual(kernel.ops.filter((o) => o.kind === 'sysctl-set'), [], 'ip_forward set without rules');
    kernel.nftError = undefined;
    await service.sync(snapshot(networks, [], []));
    assert.equal(service.lastSync.kind, 'replace');
    assert.ok(kernel.ops.some((o) => o.kind === 'sysctl-set' && o.key === 'net/ipv4/ip_forward' && o.value === '1'));
  });

  it('syncs run one at a time, in call order', async () => {
    const kernel = new FakeKernel();
    const order: string[] = [];
    const nft: NftApplier = {
      kind: 'test',
      async apply(script) {
        await new Promise((r) => setTimeout(r, script.includes('add table') ? 20 : 1));
        order.push(script.includes('add table') ? 'replace' : 'elements');
      },
      close() {},
    };
    const { service } = setup(new MemoryPortRecords(), kernel, nft);
    const app = bridgeNetwork('app', '172.18.0.0/16');
    await Promise.all([service.sync(snapshot(networks, [], [])), service.sync(snapshot([...networks, app], [], []))]);
    assert.deepEqual(order, ['replace', 'elements']);
  });

  it('host, none and container: modes publish nothing', () => {
    const { service, records } = setup();
    for (const mode of ['host', 'none', 'container:x']) {
      const c = container(`m-${mode.replace(':', '')}`, { mode, ports: { '80/tcp': [['', '8080']] } });
      service.beforeStart(c, snapshot(networks, [c], []));
      assert.equal(records.read(c.id), undefined);
    }
  });
});
