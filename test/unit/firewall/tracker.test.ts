/**
 * The incremental path against the full render: random sequences of what the engine does
 * (create, start, stop, rm, connect, disconnect, network create/rm), with its Map semantics
 * (updates in place, appends, removals closing up). After every sync, the element changes
 * applied so far to a simulated kernel must equal a full render of the model.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../../../src/engine/log.js';
import type { NftApplier } from '../../../src/firewall/nft-session.js';
import { MemoryPortRecords } from '../../../src/firewall/port-records.js';
import { firewallStateOf, renderRuleset, type Ruleset } from '../../../src/firewall/render.js';
import { FirewallService } from '../../../src/firewall/service.js';
import { FakeKernel } from '../../../src/kernel/fake-kernel.js';
import type { Container, Endpoint } from '../../../src/model/container.js';
import type { Network } from '../../../src/model/network.js';
import { bridgeNetwork, container, defaultBridge, endpoint, snapshot, withStatus } from './fixtures.js';

/** A kernel's elements as far as the scripts say: `table name` → key → element text. */
class SimulatedElements implements NftApplier {
  readonly kind = 'simulated';
  readonly sets = new Map<string, Map<string, string>>();

  async apply(script: string): Promise<void> {
    for (const line of script.split('\n')) {
      if (line.startsWith('add table inet berth')) this.sets.clear();
      const m = /^(add|delete) element (\w+) berth (\w+) \{ (.*) \}$/.exec(line);
      if (m === null) continue;
      const [, verb, family, name, body] = m as unknown as [string, string, string, string, string];
      const set = this.sets.get(`${family} ${name}`) ?? new Map<string, string>();
      this.sets.set(`${family} ${name}`, set);
      for (const item of body.split(', ')) {
        const key = item.split(' comment ')[0] as string;
        if (verb === 'add') {
          assert.ok(!set.has(key), `add of an existing element ${name} ${key}`);
          set.set(key, item);
        } else {
          assert.ok(set.has(key), `delete of a missing element ${name} ${key}`);
          set.delete(key);
        }
      }
    }
  }

  close(): void {}
}

function expected(r: Ruleset): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const [name, m] of r.elements) {
    if (m.size === 0) continue;
    const family = name.startsWith('noicc') ? 'bridge' : 'inet';
    out.set(`${family} ${name}`, new Map([...m.values()].map((e) => [e.key, `${e.key} comment "${e.comment}"${e.value === '' ? '' : ` : ${e.value}`}`])));
  }
  return out;
}

function nonEmpty(m: Map<string, Map<string, string>>): Map<string, Map<string, string>> {
  return new Map([...m].filter(([, v]) => v.size > 0));
}

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('RulesetTracker (through the service) equals the full render', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`random engine sequence, seed ${seed}`, async () => {
      const rand = rng(seed);
      const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(rand() * xs.length)];
      const kernel = new FakeKernel();
      const nft = new SimulatedElements();
      const service = new FirewallService({ kernel, nft, records: new MemoryPortRecords(), log: silentLogger });
      const networks = new Map<string, Network>([[defaultBridge().id, defaultBridge()]]);
      const containers = new Map<string, Container>();
      const endpoints = new Map<string, Endpoint>();
      let serial = 0;
      let subnet = 30;
      let host = 2;
      const snap = () => snapshot([...networks.values()], [...containers.values()], [...endpoints.values()]);
      const attach = (c: Container, n: Network) => {
        const base = n.pools[0]?.subnet.split('.').slice(0, 2).join('.') ?? '10.0';
        const e = endpoint(c, n, `${base}.${host >> 8}.${host & 255}/16`, n.enableIPv6 ? `fd00:${subnet}::${host.toString(16)}/64` : undefined);
        host++;
        endpoints.set(e.id, e);
      };
      for (let step = 0; step < 150; step++) {
        const op = rand();
        const running = [...containers.values()].filter((c) => c.state.status === 'running');
        const stopped = [...containers.values()].filter((c) => c.state.status !== 'running');
        if (op < 0.25 || containers.size === 0) {
          const ports: Record<string, [string, string][]> = {};
          const k = Math.floor(rand() * 3);
          for (let i = 0; i < k; i++) ports[`${80 + i}/${rand() < 0.7 ? 'tcp' : 'udp'}`] = [[rand() < 0.2 ? '127.0.0.1' : '', rand() < 0.5 ? '' : String(8000 + Math.floor(rand() * 40))]];
          const c = container(`c${serial++}`, { running: false, ports });
          containers.set(c.id, c);
          attach(c, pick([...networks.values()]) as Network);
          continue; // create does not notify observers
        } else if (op < 0.5 && stopped.length > 0) {
          const c = pick(stopped) as Container;
          try {
            service.beforeStart(c, snap());
            containers.set(c.id, withStatus(c, true));
          } catch {
            continue; // refused: a port is taken (nothing made, no sync)
          }
        } else if (op < 0.65 && running.length > 0) {
          const c = pick(running) as Container;
          containers.set(c.id, withStatus(c, false));
        } else if (op < 0.72 && stopped.length > 0) {
          const c = pick(stopped) as Container;
          containers.delete(c.id);
          for (const e of [...endpoints.values()]) if (e.containerId === c.id) endpoints.delete(e.id);
        } else if (op < 0.8 && containers.size > 0) {
          const c = pick([...containers.values()]) as Container;
          const on = new Set([...endpoints.values()].filter((e) => e.containerId === c.id).map((e) => e.networkId));
          const n = pick([...networks.values()].filter((x) => !on.has(x.id)));
          if (n === undefined) continue;
          attach(c, n);
        } else if (op < 0.86) {
          const c = pick([...containers.values()]);
          const eps = [...endpoints.values()].filter((e) => e.containerId === c?.id);
          if (eps.length < 2) continue;
          endpoints.delete((pick(eps) as Endpoint).id);
        } else if (op < 0.94) {
          const n = bridgeNetwork(`n${subnet}`, `10.${subnet++}.0.0/16`, {
            v6: rand() < 0.3 ? `fd00:${subnet}::/64` : undefined,
            internal: rand() < 0.2,
            options: rand() < 0.3 ? { 'com.docker.network.bridge.enable_icc': 'false' } : {},
          });
          networks.set(n.id, n);
        } else {
          const n = pick([...networks.values()].filter((x) => !x.predefined && ![...endpoints.values()].some((e) => e.networkId === x.id)));
          if (n === undefined) continue;
          networks.delete(n.id);
        }
        const s = snap();
        await service.sync(s);
        const published = new Map<string, readonly import('../../../src/firewall/ports.js').PublishedPort[]>();
        for (const c of s.containers) {
          const p = service.publishedPorts(c.id);
          if (p !== undefined && c.state.status === 'running') published.set(c.id, p);
        }
        const full = renderRuleset(firewallStateOf(s, published));
        assert.deepEqual(nonEmpty(nft.sets), expected(full), `seed ${seed} step ${step}`);
        for (const c of s.containers) {
          if (c.state.status !== 'running') assert.equal(service.publishedPorts(c.id), undefined, 'a stopped container holds ports');
        }
      }
      assert.ok(serial > 10);
    });
  }
});
