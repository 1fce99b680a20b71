/** A Logger that keeps every line, for tests that assert what was logged. */
import type { LogFields, Logger } from '../../src/engine/log.js';

export interface LogLine {
  readonly level: string;
  readonly msg: string;
  readonly fields: LogFields;
}

export class RecordingLogger implements Logger {
  readonly lines: LogLine[] = [];
  debug(msg: string, fields: LogFields = {}): void {
    this.lines.push({ level: 'debug', msg, fields });
  }
  info(msg: string, fields: LogFields = {}): void {
    this.lines.push({ level: 'info', msg, fields });
  }
  warn(msg: string, fields: LogFields = {}): void {
    this.lines.push({ level: 'warn', msg, fields });
  }
  error(msg: string, fields: LogFields = {}): void {
    this.lines.push({ level: 'error', msg, fields });
  }
  /** Lines of `level` whose message matches. */
  matching(level: string, msg: RegExp): LogLine[] {
    return this.lines.filter((l) => l.level === level && msg.test(l.msg));
  }
  has(level: string, msg: RegExp): boolean {
    return this.matching(level, msg).length > 0;
  }
}
