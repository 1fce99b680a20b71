/**
 * Elastic tabstops as Go's `text/tabwriter` (the docker CLI's fork, which measures cells in
 * terminal columns) lays them out: cells are tab-terminated; tab-terminated cells in contiguous
 * lines form a column; each column is as wide as its widest cell plus `padding`, at least
 * `minwidth`; the last cell of a line is not part of a column, so lines carry no trailing
 * padding. Only space padding and flag-less operation are implemented (what the CLI uses:
 * `NewWriter(out, 10, 1, 3, ' ', 0)` for tables, `(out, 20, 1, 1, ' ', 0)` for `version`).
 */

/** Layout parameters, named as in Go's `tabwriter.NewWriter`. */
export interface TabwriterOptions {
  readonly minwidth: number;
  readonly padding: number;
}

interface Cell {
  readonly text: string;
  readonly width: number;
  readonly htab: boolean;
}

/**
 * Display width of a string in terminal columns: wide East Asian characters count 2,
 * combining marks and zero-width characters 0 (an approximation of go-runewidth).
 */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (/[\p{Mn}\p{Me}\u200b-\u200f\u2060\ufeff]/u.test(ch)) continue;
    const wide =
      (cp >= 0x1100 && cp <= 0x115f) ||
      (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
      (cp >= 0xac00 && cp <= 0xd7a3) ||
      (cp >= 0xf900 && cp <= 0xfaff) ||
      (cp >= 0xfe30 && cp <= 0xfe4f) ||
      (cp >= 0xff00 && cp <= 0xff60) ||
      (cp >= 0xffe0 && cp <= 0xffe6) ||
      (cp >= 0x1f300 && cp <= 0x1f64f) ||
      (cp >= 0x1f900 && cp <= 0x1f9ff) ||
      (cp >= 0x20000 && cp <= 0x3fffd);
    w += wide ? 2 : 1;
  }
  return w;
}

/** Lays out `text` (cells separated by `\t`, lines by `\n`) as Go's tabwriter would print it. */
export function tabwrite(text: string, opts: TabwriterOptions): string {
  // Split into lines of cells. A '\n' terminates the current cell and the line; the text after
  // the last '\n' (usually empty) is an unterminated last line.
  const lines: Cell[][] = [];
  let current: Cell[] = [];
  let cell = '';
  for (const ch of text) {
    if (ch === '\t' || ch === '\v') {
      current.push({ text: cell, width: displayWidth(cell), htab: ch === '\t' });
      cell = '';
    } else if (ch === '\n' || ch === '\f') {
      current.push({ text: cell, width: displayWidth(cell), htab: false });
      cell = '';
      lines.push(current);
      current = [];
    } else {
      cell += ch;
    }
  }
  if (cell !== '') current.push({ text: cell, width: displayWidth(cell), htab: false });
  lines.push(current);

  let out = '';
  const widths: number[] = [];

  const writeLines = (line0: number, line1: number): void => {
    for (let i = line0; i < line1; i++) {
      const line = lines[i] as Cell[];
      line.forEach((c, j) => {
        out += c.text;
        const w = widths[j];
        if (w !== undefined && j < line.length - 1) out += ' '.repeat(Math.max(0, w - c.width));
      });
      if (i + 1 < lines.length) out += '\n';
    }
  };

  // Go's recursive column formatter: find blocks of consecutive lines that have a cell in the
  // current column, size the column for the block, and recurse into the next column.
  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    let start = line0;
    for (let t = line0; t < line1; t++) {
      const line = lines[t] as Cell[];
      if (column >= line.length - 1) continue;
      writeLines(start, t);
      start = t;
      let width = opts.minwidth;
      let u = t;
      for (; u < line1; u++) {
        const l = lines[u] as Cell[];
        if (column >= l.length - 1) break;
        const c = l[column] as Cell;
        width = Math.max(width, c.width + opts.padding);
      }
      widths.push(width);
      format(start, u);
      widths.pop();
      start = u;
      t = u - 1;
    }
    writeLines(start, line1);
  };

  format(0, lines.length);
  return out;
}
