/**
 * `/proc/self/mountinfo`, parsed (proc(5)). Used to make mounting idempotent, to tolerate "not
 * mounted" on unmount, and to see whether an image's rootfs is a live overlay lower layer.
 */
import { readFile } from 'node:fs/promises';

/** One line of mountinfo. */
export interface MountEntry {
  readonly mountId: number;
  readonly parentId: number;
  /** Mount point, unescaped. */
  readonly mountPoint: string;
  readonly fsType: string;
  readonly source: string;
  /** Per-superblock options, e.g. `rw,lowerdir=…,upperdir=…,workdir=…` for overlay. */
  readonly superOptions: string;
}

/** The kernel escapes space, tab, newline and backslash in paths as octal (`\040`). */
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses mountinfo text; malformed lines are skipped. */
export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    if (dash < 0 || fields.length < dash + 4) continue;
    entries.push({
      mountId: Number(fields[0]),
      parentId: Number(fields[1]),
      mountPoint: unescapeOctal(fields[4] ?? ''),
      fsType: fields[dash + 1] ?? '',
      source: unescapeOctal(fields[dash + 2] ?? ''),
      superOptions: fields.slice(dash + 3).join(' '),
    });
  }
  return entries;
}

/** The mounts of the calling process's mount namespace. */
export async function readMounts(): Promise<MountEntry[]> {
  return parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

/** The values of `key=` in a comma-separated option string (`lowerdir=a:b` → `a:b`). */
export function mountOption(options: string, key: string): string | undefined {
  for (const opt of options.split(',')) {
    if (opt.startsWith(`${key}=`)) return opt.slice(key.length + 1);
  }
  return undefined;
}

/** Overlay mounts that use `dir` as one of their lower layers. */
export function overlaysOver(mounts: readonly MountEntry[], dir: string): MountEntry[] {
  return mounts.filter(
    (m) => m.fsType === 'overlay' && (mountOption(m.superOptions, 'lowerdir') ?? '').split(':').includes(dir),
  );
}
