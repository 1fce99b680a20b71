/**
 * Yes/no confirmation as the docker CLI asks it (`internal/prompt`): the question, then
 * ` [y/N] ` on stdout, one line read from stdin; only `y` or `Y` (surrounding spaces ignored)
 * confirms. End of input counts as no.
 */
import type { CliIO } from './command.js';

/** Reads one line (without the newline) from `stdin`; null at end of input with nothing read. */
export function readLine(stdin: NodeJS.ReadableStream): Promise<string | null> {
  return new Promise((resolve) => {
    let buf = '';
    const finish = (line: string | null): void => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onEnd);
      // Stop reading so a terminal's stdin does not keep the process alive.
      stdin.pause();
      resolve(line);
    };
    const onData = (chunk: Buffer | string): void => {
      buf += chunk.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) finish(buf.slice(0, nl));
    };
    const onEnd = (): void => finish(buf === '' ? null : buf);
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.on('error', onEnd);
    stdin.resume();
  });
}

/** Asks `message [y/N] ` and returns true only for `y`/`Y`. */
export async function confirm(io: CliIO, message: string): Promise<boolean> {
  io.stdout.write(`${message} [y/N] `);
  const line = await readLine(io.stdin);
  if (line === null) return false;
  const answer = line.trim();
  return answer === 'y' || answer === 'Y';
}
