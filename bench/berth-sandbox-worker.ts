/**
 * The in-daemon-equivalent measurement of berth's per-container network work, run by
 * berth-sandbox.ts as `nsenter --net=<bench- netns> node berth-sandbox-worker.js '<json>'`:
 * this process plays berthd inside a throwaway "host" netns, with berth's own modules — a
 * NetworkController over a Store in a temp directory and the NetlinkKernel — and times, per
 * container, what the daemon does for one:
 *
 *   setup    = IPAM (allocateAddress over the endpoints in use, as ContainerController does)
 *            + commit the endpoint to the store (SQLite, WAL)
 *            + planSandboxSetup → applyAll: netns, lo up, veth pair with the peer created in the
 *              netns and enslaved to the bridge, address, up, default route
 *   teardown = drop the netns (the kernel destroys the veth pair later, batched: KERNEL-NOTES)
 *            + delete the endpoint from the store (releases the address)
 *
 * Not included: the firewall and DNS observers and the OCI runtime (see the end-to-end `run -d`
 * figures). Prints one JSON object on stdout; every netns it made is gone when it exits.
 */
import fs from 'node:fs';
import path from 'node:path';
import { newId } from '../src/engine/ids.js';
import { silentLogger } from '../src/engine/log.js';
import { NetworkController } from '../src/engine/networks.js';
import { planSandboxSetup } from '../src/engine/sandbox.js';
import { allocateAddress } from '../src/ipam/allocator.js';
import { DEFAULT_POOLS, DEFAULT_POOLS6 } from '../src/ipam/default-pools.js';
import { NetlinkKernel } from '../src/kernel/netlink-kernel.js';
import { applyAll } from '../src/kernel/ops.js';
import { macFromIPv4 } from '../src/model/cidr.js';
import type { Endpoint } from '../src/model/container.js';
import type { Network } from '../src/model/network.js';
import { Store } from '../src/store/store.js';

export interface SandboxWorkerArgs {
  readonly dir: string;
  /** Single-container rounds (setup then teardown on an otherwise empty network). */
  readonly rounds: number;
  /** Containers set up one after another on one network, then torn down in the same order. */
  readonly batch: number;
  /** Not recorded: lets the JIT warm up, as in a daemon that has been running. */
  readonly warmup: number;
}

export interface SandboxWorkerResult {
  readonly singleSetupMs: number[];
  readonly singleTeardownMs: number[];
  /** i-th entry: the setup of the (i+1)-th container (i containers already on the network). */
  readonly batchSetupMs: number[];
  /** i-th entry: teardown of the (i+1)-th container (batch − i containers on the network). */
  readonly batchTeardownMs: number[];
  /** After the batch teardown, until the kernel had destroyed every veth (bounded). */
  readonly kernelSettleMs: number;
  readonly subnet: string;
  readonly bridgePortsAtPeak: number;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as SandboxWorkerArgs;
  const netnsDir = path.join(args.dir, 'netns');
  fs.mkdirSync(netnsDir, { recursive: true });
  const store = Store.open(path.join(args.dir, 'berth.db'));
  const kernel = new NetlinkKernel();
  kernel.netnsDirSetup(netnsDir);
  const live = new Set<string>();
  const ctx = { mtu: 1500 };
  try {
    const networks = new NetworkController({
      store,
      kernel,
      config: { mtu: 1500, bip: '172.17.0.1/16', defaultPools: DEFAULT_POOLS, defaultPools6: DEFAULT_POOLS6 },
      log: silentLogger,
    });
    await networks.init();
    const network = await networks.create({ name: 'benchnet' });
    const pool = network.pools.find((p) => !p.subnet.includes(':'));
    if (pool === undefined) throw new Error('benchnet has no IPv4 pool');
    const endpoints = new Map<string, Endpoint>();
    let order = 0;

    const setupOne = (): { ms: number; netns: string; endpoint: Endpoint } => {
      const t0 = performance.now();
      // IPAM as ContainerController.#planEndpoint does it: the addresses in use are derived
      // from the stored endpoints of the network on every allocation.
      const inUse = new Set<string>();
      for (const e of endpoints.values()) if (e.networkId === network.id && e.ipv4 !== undefined) inUse.add(e.ipv4);
      const ip = allocateAddress(pool, inUse);
      const endpoint: Endpoint = {
        id: newId(),
        networkId: network.id,
        containerId: newId(),
        ifName: 'eth0',
        mac: macFromIPv4(ip).toLowerCase(),
        ipv4: `${ip}/${pool.subnet.split('/')[1]}`,
        aliases: [],
        links: [],
        order: ++order,
      };
      store.put('endpoint', endpoint.id, endpoint);
      endpoints.set(endpoint.id, endpoint);
      const netns = path.join(netnsDir, endpoint.containerId.slice(0, 12));
      const ops = planSandboxSetup(netns, [{ network: network as Network, endpoint }], new Map(), ctx);
      live.add(netns);
      applyAll(kernel, ops);
      return { ms: performance.now() - t0, netns, endpoint };
    };
    const teardownOne = (s: { netns: string; endpoint: Endpoint }): number => {
      const t0 = performance.now();
      kernel.release(s.netns);
      kernel.netnsDel(s.netns);
      store.delete('endpoint', s.endpoint.id);
      endpoints.delete(s.endpoint.id);
      const ms = performance.now() - t0;
      live.delete(s.netns);
      return ms;
    };

    for (let i = 0; i < args.warmup; i++) teardownOne(setupOne());
    const singleSetupMs: number[] = [];
    const singleTeardownMs: number[] = [];
    for (let i = 0; i < args.rounds; i++) {
      const s = setupOne();
      singleSetupMs.push(s.ms);
      singleTeardownMs.push(teardownOne(s));
      // The kernel destroys the dropped pair ~40 ms later: give each round the same start.
      await new Promise((r) => setTimeout(r, 60));
    }
    const made: { netns: string; endpoint: Endpoint }[] = [];
    const batchSetupMs: number[] = [];
    for (let i = 0; i < args.batch; i++) {
      const s = setupOne();
      batchSetupMs.push(s.ms);
      made.push(s);
    }
    const bridgePortsAtPeak = kernel.listLinks(null).filter((l) => l.kind === 'veth').length;
    const batchTeardownMs: number[] = [];
    for (const s of made) batchTeardownMs.push(teardownOne(s));
    const t0 = performance.now();
    const settleDeadline = t0 + 120_000;
    while (performance.now() < settleDeadline && kernel.listLinks(null).some((l) => l.kind === 'veth')) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const kernelSettleMs = performance.now() - t0;
    await networks.remove(network.id);
    const result: SandboxWorkerResult = {
      singleSetupMs,
      singleTeardownMs,
      batchSetupMs,
      batchTeardownMs,
      kernelSettleMs,
      subnet: pool.subnet,
      bridgePortsAtPeak,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    for (const ns of live) {
      try {
        kernel.netnsDel(ns);
      } catch {
        // the parent deletes the whole host netns and unmounts the directory anyway
      }
    }
    kernel.release();
    store.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`berth-sandbox-worker: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
