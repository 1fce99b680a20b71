/**
 * Docker's json-file log format, which berth-shim writes (`<root>/containers/<id>/<id>-json.log`):
 * one object per line, `{"log":"hello\n","stream":"stdout","time":"2024-05-01T10:00:00.123456789Z"}`.
 * A line longer than 16 KiB is split into several entries, only the last of which ends in "\n".
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** One log entry. */
export interface LogEntry {
  /** The bytes written, as text; ends in "\n" unless the line was split or unterminated. */
  readonly log: string;
  readonly stream: 'stdout' | 'stderr';
  /** RFC 3339 with nanoseconds, UTC. */
  readonly time: string;
}

/** Parses one line; null for a malformed line (e.g. a torn last write). */
export function parseLogLine(line: string): LogEntry | null {
  if (!line) return null;
  try {
    const v = JSON.parse(line) as Partial<LogEntry>;
    if (typeof v.log !== 'string' || (v.stream !== 'stdout' && v.stream !== 'stderr') || typeof v.time !== 'string') return null;
    return { log: v.log, stream: v.stream, time: v.time };
  } catch {
    return null;
  }
}

/** Filters for {@link readLog}. */
export interface ReadLogOptions {
  readonly stdout?: boolean;
  readonly stderr?: boolean;
  /** Only the last N entries. */
  readonly tail?: number;
}

/** Reads a json-file log; a missing file is an empty log. */
export async function readLog(path: string, opts: ReadLogOptions = {}): Promise<LogEntry[]> {
  const want = { stdout: opts.stdout ?? true, stderr: opts.stderr ?? true };
  const entries: LogEntry[] = [];
  const input = createReadStream(path, { encoding: 'utf8' });
  const done = new Promise<boolean>((resolve, reject) => {
    input.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? resolve(false) : reject(e)));
    input.on('open', () => resolve(true));
  });
  if (!(await done)) return [];
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    const e = parseLogLine(line);
    if (e && want[e.stream]) entries.push(e);
  }
  return opts.tail === undefined ? entries : entries.slice(Math.max(0, entries.length - opts.tail));
}

/** The text of entries, joined as `docker logs` prints them (both streams, in order). */
export function logText(entries: readonly LogEntry[]): string {
  return entries.map((e) => e.log).join('');
}
