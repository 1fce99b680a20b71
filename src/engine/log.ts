/**
 * A small structured logger: one line per event, `time level msg key=value…`, to stderr.
 * Injected everywhere so tests can capture or silence it.
 */

/** Structured fields of a log line. */
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LEVELS)[number];

/** A logger writing to `out` (stderr by default) at `level` and above. */
export function createLogger(level: LogLevel = 'info', out: NodeJS.WritableStream = process.stderr): Logger {
  const min = LEVELS.indexOf(level);
  const line = (lvl: LogLevel, msg: string, fields?: LogFields): void => {
    if (LEVELS.indexOf(lvl) < min) return;
    let text = `${new Date().toISOString()} ${lvl} ${msg}`;
    for (const [k, v] of Object.entries(fields ?? {})) {
      const s = typeof v === 'string' ? v : JSON.stringify(v);
      text += ` ${k}=${/[\s"=]/.test(s ?? '') ? JSON.stringify(s) : s}`;
    }
    out.write(`${text}\n`);
  };
  return {
    debug: (m, f) => line('debug', m, f),
    info: (m, f) => line('info', m, f),
    warn: (m, f) => line('warn', m, f),
    error: (m, f) => line('error', m, f),
  };
}

/** A logger that drops everything (unit tests). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
