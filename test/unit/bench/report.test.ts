import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Results } from '../../../bench/model.js';
import { parseDnsload } from '../../../bench/peers.js';
import { mapScriptOutput } from '../../../bench/plugin-output.js';
import { formatValue, ratio, renderMarkdown, renderSvg, type RunMeta } from '../../../bench/report.js';

const META: RunMeta = {
  date: '2026-01-01T00:00:00Z',
  mode: 'quick',
  machine: { nproc: 2, memGiB: 24, kernel: '6.1', cpu: 'test' },
  versions: { berth: '0.1.0' },
  durationsSec: {},
  totalSec: 60,
};

test('parseDnsload reads the line dnsload.py prints', () => {
  const line =
    'aardvark dns 10.218.0.1:53 name=nvctr102 sent=2000 answered_ok=2000 nxdomain=0 other_rcode=0 timeouts=0 conc=16 elapsed=0.033s rate=60510 qps lat_median=0.143ms p90=0.221ms p99=3.180ms';
  assert.deepEqual(parseDnsload(line), { sent: 2000, ok: 2000, conc: 16, qps: 60510, p50: 0.143, p99: 3.18 });
  assert.equal(parseDnsload('nothing here'), undefined);
});

test('mapScriptOutput: the DNS and ports scripts, and the plugin shape', () => {
  const dns = mapScriptOutput({ results: [{ inflight: 16, qps: 65755, p50Us: 230, p99Us: 924, lost: 0, badAnswers: 0, seconds: 3 }] });
  assert.deepEqual(dns['dns.c16.qps'], { value: 65755, note: '3 s of load' });
  assert.deepEqual(dns['dns.c16.p99'], { value: 0.924 });
  const ports = mapScriptOutput({ publish: { applier: 'nft -i', series: [{ n: 1000, publishNextPortMs: { median: 0.8, p90: 1.2, samples: 25 } }] } });
  assert.deepEqual(ports['ports.next.1000'], { value: 0.8, p90: 1.2, n: 25, note: 'FirewallService, nft -i' });
  const plain = mapScriptOutput({ figures: { 'ports.next.10': { na: 'why' } } });
  assert.deepEqual(plain, { 'ports.next.10': { na: 'why' } });
});

test('ratio is peer / berth, and only between positive numbers', () => {
  const r = new Results([1, 100]);
  r.set('setup.1', 'berth', { value: 2 });
  r.set('setup.1', 'cni', { value: 30 });
  r.set('setup.1', 'docker', { na: 'no' });
  const row = r.row('setup.1');
  assert.ok(row !== undefined);
  assert.equal(ratio(row, 'cni'), 15);
  assert.equal(ratio(row, 'docker'), undefined);
  r.set('runshare.1', 'berth', { value: -1 });
  r.set('runshare.1', 'docker', { value: 80 });
  assert.equal(ratio(r.row('runshare.1')!, 'docker'), undefined);
});

test('formatValue keeps three significant-ish digits per unit', () => {
  assert.equal(formatValue(2.3456, 'ms'), '2.35');
  assert.equal(formatValue(0.0123, 'ms'), '0.012');
  assert.equal(formatValue(36.04, 'ms'), '36.0');
  assert.equal(formatValue(1234.5, 'ms'), '1,235');
  assert.equal(formatValue(60510, 'q/s'), '60,510');
  assert.equal(formatValue(12.345, 'Gbit/s'), '12.35');
});

test('markdown and SVG render every row, with reasons as footnotes', () => {
  const r = new Results([1, 100]);
  r.setSamples('setup.1', 'berth', [1, 2, 3]);
  r.set('setup.1', 'cni', { na: 'not installed (containernetworking-plugins)' });
  r.set('ports.next.10', 'berth', { pending: 'bench/ports.ts is not written yet' });
  const md = renderMarkdown(r, META, ['how']);
  assert.match(md, /\| setup, 1 on the network \[ms, median \(p90\)\] \| 2\.00 \(3\.00\) \| n\/a \[\d\]/);
  assert.match(md, /not installed \(containernetworking-plugins\)/);
  assert.match(md, /pending \[\d\]/);
  for (const row of r.rows) assert.ok(md.includes(row.measure.replace(/\|/g, '\\|')), row.measure);
  const svg = renderSvg(r, META);
  assert.match(svg, /^<svg /);
  assert.match(svg, /<rect [^>]*fill="#1f77b4"/);
});
