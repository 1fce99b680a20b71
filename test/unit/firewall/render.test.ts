/**
 * Golden tests of the rendered rulesets, through the service (allocation + render) over the fake
 * kernel: what berthd would apply for a matrix of networks, options and published ports.
 * Regenerate with `BERTH_UPDATE_GOLDEN=1 node --test dist/test/unit/firewall/` and review the
 * diff like code.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { silentLogger } from '../../../src/engine/log.js';
import { KernelNftApplier } from '../../../src/firewall/nft-session.js';
import { toOneLine } from '../../../src/firewall/nft-session.js';
import { MemoryPortRecords } from '../../../src/firewall/port-records.js';
import { firewallStateOf, renderElementChanges, renderReplace, renderRuleset } from '../../../src/firewall/render.js';
import { FirewallService } from '../../../src/firewall/service.js';
import { FakeKernel } from '../../../src/kernel/fake-kernel.js';
import type { Container, Endpoint } from '../../../src/model/container.js';
import type { Network } from '../../../src/model/network.js';
import { bridgeNetwork, container, defaultBridge, endpoint, otherPredefined, snapshot, withStatus } from './fixtures.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const GOLDEN = path.join(REPO, 'test/golden/firewall');
const UPDATE = process.env['BERTH_UPDATE_GOLDEN'] === '1';

function golden(name: string, actual: string): void {
  const file = path.join(GOLDEN, name);
  if (UPDATE) {
    fs.mkdirSync(GOLDEN, { recursive: true });
    fs.writeFileSync(file, actual);
    return;
  }
  assert.ok(fs.existsSync(file), `missing golden ${file}: run with BERTH_UPDATE_GOLDEN=1`);
  assert.equal(actual, fs.readFileSync(file, 'utf8'), `${name} differs from the golden file (BERTH_UPDATE_GOLDEN=1 regenerates)`);
}

/** Starts every running container through the service in order, then syncs once. */
async function render(networks: Network[], containers: Container[], endpoints: Endpoint[]) {
  const kernel = new FakeKernel();
  const service = new FirewallService({ kernel, nft: new KernelNftApplier(kernel), records: new MemoryPortRecords(), log: silentLogger });
  const snap = snapshot(networks, containers, endpoints);
  for (const c of containers) if (c.state.status === 'running') service.beforeStart(c, snap);
  await service.sync(snap);
  return { kernel, service, script: kernel.nftScripts.map((s) => s.script).join('') };
}

const def = defaultBridge();
const predefined = [...otherPredefined(), def];
const app = bridgeNetwork('app', '172.18.0.0/16');
const noicc = bridgeNetwork('noicc', '172.19.0.0/16', { options: { 'com.docker.network.bridge.enable_icc': 'false' } });
const nomasq = bridgeNetwork('nomasq', '172.20.0.0/16', { options: { 'com.docker.network.bridge.enable_ip_masquerade': 'false' } });
const internal = bridgeNetwork('internal', '172.21.0.0/16', { internal: true });
const dual = bridgeNetwork('dual', '172.22.0.0/16', { v6: 'fd00:22::/64' });
const named = bridgeNetwork('named', '172.23.0.0/16', { options: { 'com.docker.network.bridge.name': 'mybr0' } });
const hb = bridgeNetwork('hb', '172.24.0.0/16', { options: { 'com.docker.network.bridge.host_binding_ipv4': '10.0.0.1' } });

describe('rendered ruleset (golden)', () => {
  it('default bridge only: the base every daemon has', async () => {
    const { script, kernel } = await render(predefined, [], []);
    golden('default-bridge.nft', script);
    // Rules first, then forwarding and route_localnet: never forwarding without isolation.
    assert.deepEqual(
      kernel.ops.map((o) => (o.kind === 'sysctl-set' ? `${o.key}=${o.value}` : o.kind)),
      ['net/ipv4/ip_forward=1', 'net/ipv4/conf/berth0/route_localnet=1'],
    );
  });

  it('networks: icc=false, masquerade off, internal, dual-stack, named bridge', async () => {
    const { script, kernel } = await render([...predefined, app, noicc, nomasq, internal, dual, named], [], []);
    golden('networks.nft', script);
    const sysctls = kernel.ops.flatMap((o) => (o.kind === 'sysctl-set' ? [o.key] : []));
    assert.ok(sysctls.includes('net/ipv6/conf/all/forwarding'));
    assert.ok(!sysctls.includes(`net/ipv4/conf/br-${internal.id.slice(0, 12)}/route_localnet`), 'internal bridges need no route_localnet');
  });

  const web = container('web', {
    ports: {
      '80/tcp': [['', '8080']],
      '81/tcp': [['127.0.0.1', '8081']],
      '53/udp': [['', '5353']],
      '90/tcp': [['', '9000']],
      '91/tcp': [['', '9001']],
      '100/tcp': [['', '9100-9105']],
      '70/sctp': [['', '7000']],
    },
  });
  const web6 = container('web6', { ports: { '80/tcp': [['', '8082'], ['fd00:9::1', '8083']], '81/tcp': [['', '']] } });
  const eph = container('eph', { publishAll: true, exposed: ['443/tcp', '444/tcp'] });
  const hidden = container('hidden', { ports: { '80/tcp': [['', '8090']] } });
  const stopped = container('stopped', { running: false, ports: { '80/tcp': [['', '8095']] } });
  const hostmode = container('hostmode', { mode: 'host', ports: { '80/tcp': [['', '8096']] } });
  const multi = container('multi', { ports: { '80/tcp': [['', '8097']] } });
  const hbc = container('hbc', { ports: { '80/tcp': [['', '8098']] } });
  const endpoints = [
    endpoint(web, def, '172.17.0.2/16'),
    endpoint(web6, dual, '172.22.0.2/16', 'fd00:22::2/64'),
    endpoint(eph, def, '172.17.0.3/16'),
    endpoint(hidden, internal, '172.21.0.2/16'),
    endpoint(stopped, def, '172.17.0.4/16'),
    endpoint(multi, internal, '172.21.0.3/16'),
    endpoint(multi, app, '172.18.0.2/16'),
    endpoint(hbc, hb, '172.24.0.2/16'),
  ];
  const networks = [...predefined, app, internal, dual, hb];
  const containers = [web, web6, eph, hidden, stopped, hostmode, multi, hbc];

  it('published ports: maps by family and address, ephemeral, -P, ranges, protocols', async () => {
    const { script, service } = await render(networks, containers, endpoints);
    golden('published.nft', script);
    assert.deepEqual(
      service.publishedPorts(web6.id)?.map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}`),
      ['0.0.0.0:8082->80', ':::8082->80', 'fd00:9::1:8083->80', '0.0.0.0:32768->81', ':::32768->81'],
    );
    assert.deepEqual(service.publishedPorts(hidden.id), [], 'no gateway network: nothing published');
    assert.equal(service.publishedPorts(hostmode.id), undefined, 'host mode: ports discarded');
  });

  it('a container change is an element diff, in one transaction', async () => {
    const { kernel, service } = await render(networks, containers, endpoints);
    // web stops: its ports go.
    const stoppedWeb = snapshot(networks, [withStatus(web, false), ...containers.slice(1)], endpoints);
    await service.sync(stoppedWeb);
    assert.equal(service.lastSync.kind, 'elements');
    golden('elements-stop.nft', kernel.nftScripts[1]?.script ?? '');
    // late starts and takes web's 8080.
    const late = container('late', { running: false, ports: { '80/tcp': [['', '8080']] } });
    const lateEp = endpoint(late, def, '172.17.0.5/16');
    service.beforeStart(late, snapshot(networks, [...stoppedWeb.containers, late], [...endpoints, lateEp]));
    const started = snapshot(networks, [...stoppedWeb.containers, withStatus(late, true)], [...endpoints, lateEp]);
    await service.sync(started);
    assert.equal(service.lastSync.kind, 'elements');
    golden('elements-start.nft', kernel.nftScripts[2]?.script ?? '');
    // Nothing changed: nothing applied.
    await service.sync(started);
    assert.equal(kernel.nftScripts.length, 3);
    assert.equal(service.lastSync.kind, 'none');
    // The incremental result is what a full render of the final model gives.
    const full = renderRuleset(firewallStateOf(started, new Map(started.containers.flatMap((c) => {
      const p = service.publishedPorts(c.id);
      return p === undefined ? [] : [[c.id, p] as const];
    }))));
    assert.equal(renderReplace(full), renderReplace(service.ruleset));
  });

  it('every script survives being joined into one line for the nft -i session', async () => {
    const { script } = await render(networks, containers, endpoints);
    const line = toOneLine(script);
    assert.ok(!line.includes('\n'));
    assert.ok(!/[{,]\s*;/.test(line.replace(/\{; /g, '{ ')), 'a list was broken across lines');
    assert.ok(!script.includes('#'), 'comments would swallow the rest of the line');
  });

  it('the element diff of a model against itself is empty; structure ignores containers', () => {
    const snap = snapshot(networks, containers, endpoints);
    const a = renderRuleset(firewallStateOf(snap, new Map()));
    const b = renderRuleset(firewallStateOf(snap, new Map([[web.id, [{ containerPort: 80, proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080 }]]])));
    assert.equal(a.structure, b.structure);
    assert.equal(renderElementChanges(b, b), '');
    assert.equal(renderElementChanges(a, b), `add element inet berth pub4any { tcp . 8080 comment "${web.id.slice(0, 12)}" : 172.17.0.2 . 80 }\n`);
    assert.equal(renderElementChanges(b, a), 'delete element inet berth pub4any { tcp . 8080 }\n');
  });
});
