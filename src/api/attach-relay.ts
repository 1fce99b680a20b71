/**
 * The relay between a hijacked Docker connection (`POST /containers/{id}/attach`,
 * `POST /exec/{id}/start`) and a berth-shim attach socket (runtime/attach.ts).
 *
 * Output: the shim's frames are Docker's multiplexed frames already; with a tty Docker sends
 * the raw bytes instead, so the headers go. Input: the client's bytes become STDIN frames.
 * Backpressure both ways: a slow client pauses the shim connection (and so, in the end, the
 * container), a container that does not read pauses the client.
 */
import type net from 'node:net';
import { parseExitFrame, SHIM_FRAME, type ShimConnection } from '../runtime/attach.js';
import type { ExitStatus } from '../runtime/runc.js';
import { frame } from './streams.js';

/** What the client asked for and how the container was made. */
export interface RelayOptions {
  /** The container (or exec) has a terminal: output is raw bytes, not frames. */
  readonly tty: boolean;
  /** Forward the client's input to the container's stdin. */
  readonly stdin: boolean;
  /** Pass the container's stdout (all output, with a tty). */
  readonly stdout: boolean;
  /** Pass the container's stderr. */
  readonly stderr: boolean;
  /** Close the container's stdin when the client closes its side (Docker's StdinOnce). */
  readonly closeStdinOnEnd: boolean;
}

/**
 * Relays until the shim closes the connection (the process ended: resolves with its exit
 * status) or the client goes away (resolves null; the container is not affected).
 */
export async function relayAttach(
  conn: ShimConnection,
  out: NodeJS.WritableStream,
  input: NodeJS.ReadableStream | undefined,
  opts: RelayOptions,
): Promise<ExitStatus | null> {
  let exit: ExitStatus | null = null;
  const onData = (chunk: Buffer): void => {
    if (!opts.stdin || input === undefined) return;
    if (!conn.sendStdin(chunk)) {
      input.pause();
      void conn.drained().then(() => input.resume());
    }
  };
  const onEnd = (): void => {
    if (opts.stdin && opts.closeStdinOnEnd) conn.closeStdin();
  };
  const onClose = (): void => conn.close();
  if (input !== undefined) {
    // The client half-closes its side when its stdin ends (`echo hi | docker run -i …`); the
    // output must still reach it after that.
    if ('allowHalfOpen' in input) (input as net.Socket).allowHalfOpen = true;
    input.on('data', onData);
    input.on('end', onEnd);
    input.resume();
  }
  // The client is gone when the connection closes: `out` (the hijacked socket is both; an
  // IncomingMessage `input` closes as soon as its body has ended).
  out.on('close', onClose);
  try {
    for await (const f of conn.frames()) {
      if (f.kind === SHIM_FRAME.exit) {
        exit = parseExitFrame(f.payload);
      } else if (f.kind === SHIM_FRAME.stdout || f.kind === SHIM_FRAME.stderr) {
        if (f.kind === SHIM_FRAME.stdout ? !opts.stdout : !opts.stderr) continue;
        await send(out, opts.tty ? f.payload : frame(f.kind, f.payload));
      }
    }
  } finally {
    input?.off('data', onData);
    input?.off('end', onEnd);
    out.off('close', onClose);
    conn.close();
  }
  return exit;
}

/** Writes, and waits for the drain when the client is slow — or for its going away. */
async function send(out: NodeJS.WritableStream, data: Buffer): Promise<void> {
  if (data.length === 0 || out.write(data)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}
