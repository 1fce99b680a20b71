/**
 * The results as a terminal table, a markdown table (for the README), JSON, and an SVG chart
 * (hand-written bars, no dependencies).
 */
import { SYSTEMS, SYSTEM_LABELS, type Cell, type Results, type Row, type System } from './model.js';

export interface RunMeta {
  readonly date: string;
  readonly mode: 'quick' | 'default' | 'full';
  readonly machine: { readonly nproc: number; readonly memGiB: number; readonly kernel: string; readonly cpu: string };
  readonly versions: Readonly<Record<string, string>>;
  readonly durationsSec: Readonly<Record<string, number>>;
  readonly totalSec: number;
}

const PEERS: readonly System[] = ['cni', 'netavark', 'docker'];

// ----------------------------------------------------------------------------------------------
// Numbers

export function formatValue(v: number, unit: Row['unit']): string {
  if (unit === 'q/s') return Math.round(v).toLocaleString('en-US');
  if (unit === 'Gbit/s') return v.toFixed(2);
  if (unit === 'MB') return v >= 100 ? v.toFixed(0) : v.toFixed(1);
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a > 0 && a < 0.1) return v.toFixed(3);
  return v.toFixed(2);
}

/** peer / berth, or undefined when either side has no positive number. */
export function ratio(row: Row, peer: System): number | undefined {
  const b = row.cells.berth?.value;
  const p = row.cells[peer]?.value;
  if (b === undefined || p === undefined || !(b > 0) || !(p > 0)) return undefined;
  // A difference of medians near zero makes a meaningless ratio.
  if (row.unit === 'ms' && b < 0.05) return undefined;
  return p / b;
}

export function formatRatio(r: number | undefined): string {
  if (r === undefined) return '';
  if (r >= 100) return `${r.toFixed(0)}×`;
  if (r >= 10) return `${r.toFixed(1)}×`;
  return `${r.toFixed(2)}×`;
}

/** Footnotes for "n/a" and "pending" reasons, numbered in order of first use. */
class Footnotes {
  readonly list: string[] = [];
  ref(raw: string): number {
    const text = raw.replace(/\s+/g, ' ').trim();
    let i = this.list.indexOf(text);
    if (i < 0) {
      this.list.push(text);
      i = this.list.length - 1;
    }
    return i + 1;
  }
}

function cellText(row: Row, system: System, notes: Footnotes, withNote: boolean): string {
  if (!row.applies.includes(system)) return '—';
  const c: Cell | undefined = row.cells[system];
  if (c === undefined) return `n/a [${notes.ref('not measured in this run')}]`;
  if (c.pending !== undefined) return `pending [${notes.ref(c.pending)}]`;
  if (c.value === undefined) return `n/a [${notes.ref(c.na ?? 'not measured')}]`;
  let s = formatValue(c.value, row.unit);
  if (row.showP90 === true && c.p90 !== undefined) s += ` (${formatValue(c.p90, row.unit)})`;
  if (withNote && c.note !== undefined) s += ` ${c.note.startsWith('(') ? c.note : `(${c.note})`}`;
  return s;
}

function measureText(row: Row): string {
  return `${row.measure} [${row.unit}${row.showP90 === true ? ', median (p90)' : ''}]`;
}

// ----------------------------------------------------------------------------------------------
// Tables

interface TableModel {
  readonly header: string[];
  readonly body: ({ section: string } | { cells: string[] })[];
  readonly footnotes: string[];
}

function tableModel(results: Results, withNotes: boolean): TableModel {
  const fn = new Footnotes();
  const header = ['measure', SYSTEM_LABELS.berth];
  for (const p of PEERS) header.push(SYSTEM_LABELS[p], `${SYSTEM_LABELS[p]}/berth`);
  const body: TableModel['body'] = [];
  let section = '';
  for (const row of results.rows) {
    if (row.section !== section) {
      section = row.section;
      body.push({ section });
    }
    const cells = [measureText(row), cellText(row, 'berth', fn, withNotes)];
    for (const p of PEERS) {
      cells.push(cellText(row, p, fn, withNotes));
      cells.push(row.applies.includes(p) ? formatRatio(ratio(row, p)) : '');
    }
    body.push({ cells });
  }
  return { header, body, footnotes: fn.list };
}

function metaLines(meta: RunMeta): string[] {
  const v = meta.versions;
  const m = meta.machine;
  return [
    `berth benchmark, ${meta.date} (${meta.mode} run, ${Math.round(meta.totalSec / 60)} min)`,
    `machine: ${m.nproc} CPUs (${m.cpu}), ${m.memGiB.toFixed(1)} GiB, Linux ${m.kernel}`,
    `versions: ${Object.entries(v)
      .map(([k, x]) => `${k} ${x}`)
      .join(', ')}`,
  ];
}

const LEGEND = [
  'Medians of many runs, p90 in parentheses; "peer / berth" is the ratio of the medians: above 1 the peer takes longer or uses more, for q/s and Gbit/s above 1 the peer is faster.',
  'Each system was measured on this machine in this run, one after another, inside network namespaces made for the purpose.',
];

/** Plain-text table for the terminal: aligned columns, reasons as footnotes. */
export function renderText(results: Results, meta: RunMeta): string {
  const t = tableModel(results, false);
  const rows = [t.header, ...t.body.flatMap((b) => ('cells' in b ? [b.cells] : []))];
  const widths = t.header.map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length)));
  const line = (r: string[]) =>
    r.length === 1
      ? r[0] as string
      : r.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  const out = [...metaLines(meta), ''];
  out.push(line(t.header));
  out.push(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of t.body) out.push('cells' in b ? line(b.cells) : `\n${b.section.toUpperCase()}`);
  out.push('', ...LEGEND);
  if (t.footnotes.length > 0) out.push('', ...t.footnotes.map((f, i) => `[${i + 1}] ${f}`));
  if (results.notes.length > 0) out.push('', 'Notes:', ...results.notes.map((n) => `- ${n}`));
  return `${out.join('\n')}\n`;
}

function mdEscape(s: string): string {
  return s.replace(/\|/g, '\\|');
}

/** Markdown: the table for the README, then how it was measured. */
export function renderMarkdown(results: Results, meta: RunMeta, methods: readonly string[]): string {
  const t = tableModel(results, true);
  const out = metaLines(meta).map((l, i) => (i === 0 ? `### ${l}` : `${l}  `));
  out.push('');
  out.push(`| ${t.header.map(mdEscape).join(' | ')} |`);
  out.push(`|${t.header.map((_, i) => (i === 0 ? ':---' : '---:')).join('|')}|`);
  for (const b of t.body) {
    if ('cells' in b) out.push(`| ${b.cells.map(mdEscape).join(' | ')} |`);
    else out.push(`| **${mdEscape(b.section)}** |${' |'.repeat(t.header.length - 1)}`);
  }
  out.push('', ...LEGEND.map((l) => `${l}  `));
  if (t.footnotes.length > 0) out.push('', ...t.footnotes.map((f, i) => `[${i + 1}] ${mdEscape(f)}  `));
  if (results.notes.length > 0) out.push('', '**Notes**', '', ...results.notes.map((n) => `- ${n}`));
  if (methods.length > 0) out.push('', '**How each figure is measured**', '', ...methods.map((m) => `- ${m}`));
  return `${out.join('\n')}\n`;
}

export function renderJson(results: Results, meta: RunMeta, methods: readonly string[]): string {
  return `${JSON.stringify(
    {
      meta,
      rows: results.rows.map((r) => ({
        id: r.id,
        section: r.section,
        measure: r.measure,
        unit: r.unit,
        higherIsBetter: r.higherIsBetter === true,
        cells: r.cells,
        ratios: Object.fromEntries(PEERS.map((p) => [p, ratio(r, p) ?? null])),
      })),
      notes: results.notes,
      methods,
      raw: results.raw,
    },
    null,
    1,
  )}\n`;
}

// ----------------------------------------------------------------------------------------------
// SVG

const COLORS: Record<System, string> = { berth: '#1f77b4', cni: '#2ca02c', netavark: '#ff7f0e', docker: '#7f7f7f' };

/** 1, 2 or 5 times a power of ten, at least `x`. */
function niceStep(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * Grouped horizontal bars, one panel per section: a log scale for times (they span three
 * orders of magnitude), linear otherwise. Rows without any number are left out.
 */
export function renderSvg(results: Results, meta: RunMeta): string {
  const W = 980;
  const labelW = 330;
  const plotW = 520;
  const bar = 9;
  const gap = 12;
  const parts: string[] = [];
  let y = 58;
  // One panel per section and unit (DNS has q/s and ms rows).
  const panels = [...new Set(results.rows.map((r) => `${r.section}\u0000${r.unit}`))];
  for (const panel of panels) {
    const [section = '', unit = 'ms'] = panel.split('\u0000') as [string, Row['unit']];
    const rows = results.rows.filter((r) => r.section === section && r.unit === unit && SYSTEMS.some((s) => (r.cells[s]?.value ?? 0) > 0));
    if (rows.length === 0) continue;
    const values = rows.flatMap((r) => SYSTEMS.map((s) => r.cells[s]?.value ?? 0)).filter((v) => v > 0);
    const log = unit === 'ms' || unit === 's';
    const lo = log ? 10 ** Math.floor(Math.log10(Math.min(...values))) : 0;
    const step = log ? 0 : niceStep(Math.max(...values) / 4);
    const hi = log ? 10 ** Math.ceil(Math.log10(Math.max(...values))) : Math.ceil((Math.max(...values) * 1.05) / step) * step;
    const xOf = (v: number) =>
      labelW + (log ? ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo) || 1)) * plotW : (v / hi) * plotW);
    parts.push(`<text x="10" y="${y}" class="section">${esc(section)} (${unit}${log ? ', log scale' : ''})</text>`);
    y += 10;
    const top = y;
    for (const row of rows) {
      const present = SYSTEMS.filter((s) => (row.cells[s]?.value ?? 0) > 0);
      const h = present.length * bar;
      parts.push(`<text x="${labelW - 8}" y="${y + h / 2 + 4}" class="label" text-anchor="end">${esc(row.measure)}</text>`);
      for (const s of present) {
        const v = row.cells[s]?.value as number;
        const x1 = xOf(v);
        parts.push(`<rect x="${labelW}" y="${y}" width="${Math.max(1, x1 - labelW).toFixed(1)}" height="${bar - 1}" fill="${COLORS[s]}"><title>${esc(`${SYSTEM_LABELS[s]}: ${formatValue(v, row.unit)} ${row.unit}`)}</title></rect>`);
        parts.push(`<text x="${(x1 + 3).toFixed(1)}" y="${y + bar - 1.5}" class="value">${esc(formatValue(v, row.unit))}</text>`);
        y += bar;
      }
      y += gap;
    }
    // axis ticks
    const ticks: number[] = [];
    if (log) for (let t = lo; t <= hi * 1.001; t *= 10) ticks.push(t);
    else for (let t = 0; t <= hi + step / 2; t += step) ticks.push(t);
    for (const t of ticks) {
      const x = xOf(t);
      parts.push(`<line x1="${x.toFixed(1)}" y1="${top - 2}" x2="${x.toFixed(1)}" y2="${y - gap + 2}" class="grid"/>`);
      parts.push(`<text x="${x.toFixed(1)}" y="${y - gap + 14}" class="tick" text-anchor="middle">${esc(formatValue(t, unit))}</text>`);
    }
    y += 26;
  }
  const legend = SYSTEMS.map(
    (s, i) => `<rect x="${10 + i * 130}" y="30" width="12" height="12" fill="${COLORS[s]}"/><text x="${26 + i * 130}" y="40" class="label">${esc(SYSTEM_LABELS[s])}</text>`,
  ).join('');
  const m = meta.machine;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y + 10}" viewBox="0 0 ${W} ${y + 10}" font-family="sans-serif">
<style>
.title{font-size:15px;font-weight:bold}.section{font-size:13px;font-weight:bold}.label{font-size:11px}
.value{font-size:9px;fill:#333}.tick{font-size:9px;fill:#666}.grid{stroke:#ddd;stroke-width:1}
</style>
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="20" class="title">${esc(`berth vs peers, ${meta.date} · ${m.nproc} CPUs, ${m.memGiB.toFixed(0)} GiB, Linux ${m.kernel}`)}</text>
<text x="${W - 10}" y="40" class="tick" text-anchor="end">medians; times on log scales, shorter is better</text>
${legend}
${parts.join('\n')}
</svg>
`;
}
