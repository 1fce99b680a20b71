/**
 * The human-readable bits of the docker CLI's list output: go-units `HumanDuration`
 * ("About a minute", "3 hours", "5 weeks"), `HumanSizeWithPrecision` ("4.26MB", decimal
 * units, Go's `%.*g`), and the formatter's `Ellipsis` (truncation by display width, `…`).
 * Pure.
 */

/**
 * go-units `HumanDuration`: seconds and minutes truncate, hours round; "Less than a second",
 * "1 second", "N seconds", "About a minute", "N minutes", "About an hour", "N hours", then
 * days (< 2 weeks), weeks (< 2 months), months (< 2 years), years.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  // time.Duration.Round(time.Hour): halves away from zero.
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / 3_600_000) / 24 / 365)} years`;
}

/** Go's `fmt.Sprintf("%.*g", precision, x)` for finite non-negative x. */
export function formatG(x: number, precision: number): string {
  if (x === 0) return '0';
  const [mant = '0', expText = '0'] = x.toExponential(precision - 1).split('e');
  const exp = Number(expText);
  const strip = (s: string): string => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (exp < -4 || exp >= precision) {
    const e = Math.abs(exp);
    return `${strip(mant)}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' + e : e}`;
  }
  return strip(x.toFixed(Math.max(0, precision - 1 - exp)));
}

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];

/** go-units `HumanSizeWithPrecision` (base 1000): `4.26MB` at precision 3. */
export function humanSizeWithPrecision(size: number, precision: number): string {
  let s = size;
  let i = 0;
  while (s >= 1000 && i < DECIMAL_UNITS.length - 1) {
    s /= 1000;
    i++;
  }
  return formatG(s, precision) + (DECIMAL_UNITS[i] as string);
}

/** go-units `HumanSize`: precision 4. */
export function humanSize(size: number): string {
  return humanSizeWithPrecision(size, 4);
}

/** East Asian wide and fullwidth characters take two columns (`golang.org/x/text/width`). */
export function charWidth(ch: string): number {
  const cp = ch.codePointAt(0) ?? 0;
  const wide =
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd);
  return wide ? 2 : 1;
}

/** The formatter's `Ellipsis`: at most `max` columns, the last one `…` when cut. */
export function ellipsis(s: string, max: number): string {
  if (max <= 0) return '';
  const runes = [...s];
  if (max === 1) return runes[0] ?? '';
  if (Buffer.byteLength(s) === runes.length) return runes.length <= max ? s : runes.slice(0, max - 1).join('') + '…';
  const widths: number[] = [];
  let total = 0;
  for (const r of runes) {
    total += charWidth(r);
    widths.push(total);
  }
  if (total <= max) return s;
  for (let i = 0; i < widths.length - 1; i++) {
    if ((widths[i] as number) <= max - 1 && (widths[i + 1] as number) > max - 1) return runes.slice(0, i + 1).join('') + '…';
  }
  return s;
}
