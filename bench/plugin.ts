/**
 * How bench/main.ts calls the measurements other parts of berth contribute:
 *
 *   bench/ports.ts  exports  `benchPorts(ctx: BenchContext): Promise<PluginResult>`
 *                   figures  `ports.next.10`, `ports.next.100`, `ports.next.1000`, `ports.next.10000`:
 *                            ms to publish one more port when N are already published
 *                            (value = median, p90 optional)
 *   bench/dns.ts    exports  `benchDns(ctx: BenchContext): Promise<PluginResult>`
 *                   figures  `dns.c1.qps`, `dns.c1.p50`, `dns.c1.p99`, `dns.c16.qps`, `dns.c16.p50`,
 *                            `dns.c16.p99` (queries/s; ms), for 1 and 16 queries in flight. The
 *                            peers' figures come from dnsload.py (2,000 A queries for a
 *                            container name, from a container's netns); `ctx.dnsload` runs the
 *                            same generator so both sides are measured alike.
 *
 * A module that is absent shows "pending" in the table; one that throws shows "n/a" with the
 * message. A default export or an export named `run` is accepted too. A function that returns
 * something else than a PluginResult, or a module without such an export (a standalone script,
 * run as `node dist/bench/<file>.js`, its JSON read from stdout), is read by plugin-output.ts.
 */
import type { BerthHost } from './berth-host.js';

export interface BenchContext {
  /** `--quick`: fewer repetitions, smaller N (keep the whole run within ~3 minutes). */
  readonly quick: boolean;
  /** Suggested seconds of load per level (3; 1 with --quick). */
  readonly seconds: number;
  /** A directory for raw files of this measurement (kept with the results). */
  readonly resDir: string;
  readonly log: (msg: string) => void;
  /**
   * A berthd in a fresh `bench-<hex>` netns (BerthHost: request(), runContainer() → sandboxKey,
   * ip; rssKb()). The benchmark removes it, with its containers, after the plugin returns or
   * throws; `host.cleanup()` removes it earlier.
   */
  startBerthd(extraArgs?: readonly string[]): Promise<BerthHost>;
  /**
   * dnsload.py (shared/peers/bench) run inside `netnsPath` (e.g. a container's SandboxKey):
   * `count` A queries for `name` to `server` (port 53), `concurrency` in flight.
   */
  dnsload(netnsPath: string, server: string, name: string, count: number, concurrency: number): Promise<DnsLoad>;
}

export interface DnsLoad {
  readonly sent: number;
  readonly ok: number;
  readonly conc: number;
  readonly qps: number;
  /** ms */
  readonly p50: number;
  /** ms */
  readonly p99: number;
  /** The generator's own line. */
  readonly line: string;
}

export interface PluginFigure {
  readonly value: number;
  readonly p90?: number;
  readonly n?: number;
  /** A few words shown under the number. */
  readonly note?: string;
}

export interface PluginResult {
  /** Figure id → a number, or `{ na: reason }` when that figure could not be measured. */
  readonly figures: Readonly<Record<string, PluginFigure | { readonly na: string }>>;
  /** Sentences for the notes under the table. */
  readonly notes?: readonly string[];
}

export type BenchPlugin = (ctx: BenchContext) => Promise<PluginResult>;
