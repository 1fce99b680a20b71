/**
 * The benchmark's results as data: one row per measure, one cell per system. Every row exists
 * from the start (the catalogue below), so a measure that could not run still shows, with why.
 */
import { summarize, type Summary } from './stats.js';

export const SYSTEMS = ['berth', 'cni', 'netavark', 'docker'] as const;
export type System = (typeof SYSTEMS)[number];

export const SYSTEM_LABELS: Record<System, string> = {
  berth: 'berth',
  cni: 'CNI',
  netavark: 'netavark',
  docker: 'Docker',
};

/** One system's figure for one measure. */
export interface Cell {
  /** The headline number: a median, a rate, a size. */
  value?: number;
  /** 90th percentile (latency rows). */
  p90?: number;
  /** 99th percentile, where the row shows it. */
  p99?: number;
  n?: number;
  /** Short qualifier shown under the number (e.g. "100 ctrs", "diff. of medians"). */
  note?: string;
  /** Why there is no number: "n/a: …" in the table. */
  na?: string;
  /** Waiting for another part of the benchmark (bench/ports.ts, bench/dns.ts). */
  pending?: string;
}

export interface Row {
  readonly id: string;
  readonly section: string;
  readonly measure: string;
  readonly unit: 'ms' | 's' | 'MB' | 'q/s' | 'Gbit/s';
  readonly higherIsBetter?: boolean;
  /** Systems this measure applies to; the others show "—". */
  readonly applies: readonly System[];
  /** Show p90 next to the median. */
  readonly showP90?: boolean;
  cells: Partial<Record<System, Cell>>;
}

type RowSpec = Omit<Row, 'cells'>;

const ALL: readonly System[] = SYSTEMS;
const BERTH_DOCKER: readonly System[] = ['berth', 'docker'];

/** The rows of the table, in order. Scales are filled in by `catalogue`. */
export function catalogue(scales: readonly number[]): Row[] {
  const specs: RowSpec[] = [];
  const fmt = (n: number) => n.toLocaleString('en-US');
  for (const n of scales) {
    specs.push({
      id: `setup.${n}`,
      section: 'Network setup and teardown per container',
      measure: `setup, ${fmt(n)} on the network`,
      unit: 'ms',
      applies: ALL,
      showP90: true,
    });
  }
  for (const n of scales) {
    specs.push({
      id: `teardown.${n}`,
      section: 'Network setup and teardown per container',
      measure: `teardown, ${fmt(n)} on the network`,
      unit: 'ms',
      applies: ALL,
      showP90: true,
    });
  }
  for (const n of scales) {
    specs.push({ id: `run.${n}`, section: 'Containers end to end (API)', measure: `run -d (create+start), ${fmt(n)} running`, unit: 'ms', applies: BERTH_DOCKER, showP90: true });
  }
  for (const n of scales) {
    specs.push({ id: `rm.${n}`, section: 'Containers end to end (API)', measure: `rm -f, ${fmt(n)} running`, unit: 'ms', applies: BERTH_DOCKER, showP90: true });
  }
  specs.push(
    { id: 'runshare.1', section: 'Containers end to end (API)', measure: 'network share of run -d (user network − none)', unit: 'ms', applies: BERTH_DOCKER },
    { id: 'rmshare.1', section: 'Containers end to end (API)', measure: 'network share of rm -f (user network − none)', unit: 'ms', applies: BERTH_DOCKER },
    { id: 'net.create.api', section: 'Networks', measure: 'network create (API)', unit: 'ms', applies: BERTH_DOCKER, showP90: true },
    { id: 'net.rm.api', section: 'Networks', measure: 'network rm (API)', unit: 'ms', applies: BERTH_DOCKER, showP90: true },
    { id: 'net.create.cli', section: 'Networks', measure: 'network create (CLI process)', unit: 'ms', applies: BERTH_DOCKER, showP90: true },
    { id: 'net.rm.cli', section: 'Networks', measure: 'network rm (CLI process)', unit: 'ms', applies: BERTH_DOCKER, showP90: true },
  );
  for (const n of [10, 100, 1000, 10000]) {
    specs.push({ id: `ports.next.${n}`, section: 'Publishing ports', measure: `publish the next port, ${fmt(n)} published`, unit: 'ms', applies: ['berth', 'cni', 'docker'], showP90: true });
  }
  const dnsSec = 'Embedded DNS (dnsload.py in a container netns, the same generator for all)';
  for (const c of [1, 16]) {
    specs.push(
      { id: `dns.c${c}.qps`, section: dnsSec, measure: `queries/s, ${c} in flight`, unit: 'q/s', higherIsBetter: true, applies: ['berth', 'netavark', 'docker'] },
      { id: `dns.c${c}.p50`, section: dnsSec, measure: `latency p50, ${c} in flight`, unit: 'ms', applies: ['berth', 'netavark', 'docker'] },
      { id: `dns.c${c}.p99`, section: dnsSec, measure: `latency p99, ${c} in flight`, unit: 'ms', applies: ['berth', 'netavark', 'docker'] },
    );
  }
  const ownSec = "Embedded DNS, berth alone (bench/dns.ts: its own generator, seconds of load)";
  for (const c of [1, 16]) {
    specs.push(
      { id: `dnsown.c${c}.qps`, section: ownSec, measure: `queries/s, ${c} in flight`, unit: 'q/s', higherIsBetter: true, applies: ['berth'] },
      { id: `dnsown.c${c}.p50`, section: ownSec, measure: `latency p50, ${c} in flight`, unit: 'ms', applies: ['berth'] },
      { id: `dnsown.c${c}.p99`, section: ownSec, measure: `latency p99, ${c} in flight`, unit: 'ms', applies: ['berth'] },
    );
  }
  specs.push(
    { id: 'tcp.published', section: 'TCP throughput (iperf3, 1 stream)', measure: 'outside → published port → container', unit: 'Gbit/s', higherIsBetter: true, applies: BERTH_DOCKER },
    { id: 'tcp.direct', section: 'TCP throughput (iperf3, 1 stream)', measure: 'host → container address (direct)', unit: 'Gbit/s', higherIsBetter: true, applies: BERTH_DOCKER },
    { id: 'tcp.c2c', section: 'TCP throughput (iperf3, 1 stream)', measure: 'container → container, same network', unit: 'Gbit/s', higherIsBetter: true, applies: BERTH_DOCKER },
    { id: 'mem.idle', section: 'Daemon resident memory', measure: 'idle', unit: 'MB', applies: ALL },
  );
  for (const n of scales.filter((s) => s > 1)) {
    specs.push({ id: `mem.${n}`, section: 'Daemon resident memory', measure: `with ${fmt(n)} running containers`, unit: 'MB', applies: BERTH_DOCKER });
  }
  for (const n of scales.filter((s) => s > 1)) {
    specs.push({ id: `mem.shims.${n}`, section: 'Daemon resident memory', measure: `runtime shims, total, ${fmt(n)} containers`, unit: 'MB', applies: BERTH_DOCKER });
  }
  for (const n of scales.filter((s) => s > 1)) {
    specs.push(
      { id: `restart.ping.${n}`, section: 'Restart and reconcile (kill -9, start again)', measure: `until /_ping answers, ${fmt(n)} containers`, unit: 'ms', applies: BERTH_DOCKER },
      { id: `restart.list.${n}`, section: 'Restart and reconcile (kill -9, start again)', measure: `until the API lists all ${fmt(n)}`, unit: 'ms', applies: BERTH_DOCKER },
    );
  }
  return specs.map((s) => ({ ...s, cells: {} }));
}

/** All results of one run. */
export class Results {
  readonly rows: Row[];
  readonly notes: string[] = [];
  /** Raw samples and peer outputs, for the JSON file. */
  readonly raw: Record<string, unknown> = {};

  constructor(scales: readonly number[]) {
    this.rows = catalogue(scales);
  }

  row(id: string): Row | undefined {
    return this.rows.find((r) => r.id === id);
  }

  /** Sets a cell; unknown row ids are ignored (a scale the run did not have). */
  set(id: string, system: System, cell: Cell): void {
    const r = this.row(id);
    if (r !== undefined) r.cells[system] = cell;
  }

  /** A latency cell from samples (median, p90, p99, n). */
  setSamples(id: string, system: System, samples: readonly number[], note?: string): void {
    const s = summarize(samples);
    if (s === undefined) {
      this.set(id, system, { na: 'no samples' });
      return;
    }
    this.set(id, system, fromSummary(s, note));
  }

  /** Marks every row whose id starts with `prefix` (and applies to `system`) as not measured. */
  naAll(prefix: string, system: System, reason: string): void {
    for (const r of this.rows) {
      if (r.id.startsWith(prefix) && r.applies.includes(system) && r.cells[system]?.value === undefined) r.cells[system] = { na: reason };
    }
  }

  note(text: string): void {
    this.notes.push(text.replace(/\s+/g, ' ').trim());
  }
}

export function fromSummary(s: Summary, note?: string): Cell {
  return { value: s.median, p90: s.p90, p99: s.p99, n: s.n, ...(note === undefined ? {} : { note }) };
}
