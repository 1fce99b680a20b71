/**
 * berth-shim's attach socket, the client side. The protocol (defined in the header of
 * shim/berth-shim.c) is Docker's stream framing in both directions — an 8-byte header
 * `[kind, 0, 0, 0, length u32 BE]` then `length` bytes (at most 64 KiB from a client):
 *
 *   client → shim   0 STDIN  1 CLOSE_STDIN  2 RESIZE (rows u16 BE, cols u16 BE)  3 ATTACH
 *   shim → client   1 stdout  2 stderr  3 EXIT (the exit file's JSON), then the shim closes
 *
 * Output reaches only clients that sent ATTACH, so a one-shot client (resize) takes nothing
 * from anyone. Stdout and stderr frames are exactly Docker's multiplexed frames, so a non-tty
 * attach can pass them on as they are.
 */
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import net from 'node:net';
import { basename, dirname } from 'node:path';
import { BerthError, invalid } from '../errors.js';
import type { ExitStatus } from './runc.js';

/** Frame kinds a client sends. */
export const CLIENT_FRAME = { stdin: 0, closeStdin: 1, resize: 2, attach: 3 } as const;

/** Frame kinds the shim sends. */
export const SHIM_FRAME = { stdout: 1, stderr: 2, exit: 3 } as const;

/** Largest payload the shim accepts in one client frame. */
export const MAX_CLIENT_FRAME = 64 * 1024;

/** One frame. */
export interface AttachFrame {
  /** A {@link CLIENT_FRAME} or {@link SHIM_FRAME} kind, depending on the direction. */
  readonly kind: number;
  readonly payload: Buffer;
}

/** One frame of `kind` around `payload` (≤ 64 KiB). Pure. */
export function encodeFrame(kind: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  if (payload.length > MAX_CLIENT_FRAME) throw invalid(`attach frame of ${payload.length} bytes: at most ${MAX_CLIENT_FRAME}`);
  const header = Buffer.alloc(8);
  header[0] = kind;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** STDIN frames carrying `data`, split at 64 KiB. Pure. */
export function encodeStdin(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let off = 0; off < data.length; off += MAX_CLIENT_FRAME) {
    parts.push(encodeFrame(CLIENT_FRAME.stdin, data.subarray(off, off + MAX_CLIENT_FRAME)));
  }
  return Buffer.concat(parts);
}

/** A RESIZE frame. Throws ERR_INVALID_PARAMETER unless both are integers in 0…65535. Pure. */
export function encodeResize(rows: number, cols: number): Buffer {
  for (const [name, v] of [['height', rows], ['width', cols]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw invalid(`invalid terminal ${name}: ${v}`);
  }
  const p = Buffer.alloc(4);
  p.writeUInt16BE(rows, 0);
  p.writeUInt16BE(cols, 2);
  return encodeFrame(CLIENT_FRAME.resize, p);
}

/** Splits a byte stream into frames; keeps a partial frame for the next `push`. */
export class FrameDecoder {
  #rest: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): AttachFrame[] {
    const data = this.#rest.length === 0 ? chunk : Buffer.concat([this.#rest, chunk]);
    const frames: AttachFrame[] = [];
    let off = 0;
    while (data.length - off >= 8) {
      const size = data.readUInt32BE(off + 4);
      if (data.length - off - 8 < size) break;
      frames.push({ kind: data[off] as number, payload: data.subarray(off + 8, off + 8 + size) });
      off += 8 + size;
    }
    this.#rest = data.subarray(off);
    return frames;
  }

  /** Bytes of an unfinished frame. */
  get pending(): number {
    return this.#rest.length;
  }
}

/** The exit record in an EXIT frame (the exit file's JSON); null if it does not parse. */
export function parseExitFrame(payload: Buffer): ExitStatus | null {
  try {
    const v = JSON.parse(payload.toString('utf8')) as ExitStatus;
    if (typeof v.exitCode !== 'number') return null;
    return { exitCode: v.exitCode, signal: v.signal ?? null, exitedAt: v.exitedAt, ...(v.unknown ? { unknown: true } : {}) };
  } catch {
    return null;
  }
}

/** sun_path holds 108 bytes including the NUL. */
const SUN_PATH_MAX = 107;

/**
 * Connects to the unix socket at `path`. A path longer than sun_path allows (an exec-root plus
 * a 64-hex container id easily is) is reached through `/proc/self/fd/<fd of its directory>`,
 * the way conmon's clients do; the directory fd is closed once the connect has resolved.
 */
export async function connectUnix(path: string): Promise<net.Socket> {
  let dirFd: number | undefined;
  let target = path;
  if (Buffer.byteLength(path) > SUN_PATH_MAX) {
    dirFd = openSync(dirname(path), 'r');
    target = `/proc/self/fd/${dirFd}/${basename(path)}`;
  }
  try {
    const socket = net.connect(target);
    await once(socket, 'connect'); // rejects on 'error'
    return socket;
  } finally {
    if (dirFd !== undefined) closeSync(dirFd);
  }
}

/**
 * One connection to a shim's attach socket. `frames()` yields what the shim sends until it
 * closes the connection (with backpressure: a slow consumer makes the shim, and in the end
 * the container, wait); the send methods return false when the caller should wait for
 * `drained()` before sending more.
 */
export class ShimConnection {
  readonly socket: net.Socket;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('error', () => undefined); // surfaced by frames() or as a closed connection
  }

  /** Connects to `path` and, unless `attach` is false, asks for the output (ATTACH). */
  static async connect(path: string, opts: { readonly attach?: boolean } = {}): Promise<ShimConnection> {
    const c = new ShimConnection(await connectUnix(path));
    if (opts.attach !== false) c.socket.write(encodeFrame(CLIENT_FRAME.attach));
    return c;
  }

  /** Frames from the shim until it closes the connection (or it breaks). */
  async *frames(): AsyncGenerator<AttachFrame> {
    const decoder = new FrameDecoder();
    try {
      for await (const chunk of this.socket) {
        yield* decoder.push(chunk as Buffer);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ECONNRESET' || this.socket.destroyed) return;
      throw new BerthError('ERR_RUNTIME', `attach socket: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Bytes for the container's stdin (dropped by a shim without `--stdin`). */
  sendStdin(data: Buffer): boolean {
    return data.length === 0 || this.#write(encodeStdin(data));
  }

  /** Docker's StdinOnce: the container's stdin is closed once what was sent is written. */
  closeStdin(): boolean {
    return this.#write(encodeFrame(CLIENT_FRAME.closeStdin));
  }

  /** The terminal's size (TIOCSWINSZ; ignored without a tty). Throws on sizes outside u16. */
  resize(rows: number, cols: number): boolean {
    return this.#write(encodeResize(rows, cols));
  }

  /** Resolves when the socket's write buffer has drained (or it closed). */
  async drained(): Promise<void> {
    const s = this.socket;
    if (s.destroyed || !s.writableNeedDrain) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        s.off('drain', done);
        s.off('close', done);
        resolve();
      };
      s.on('drain', done);
      s.on('close', done);
    });
  }

  /** Closes the connection; the container is not affected. */
  close(): void {
    this.socket.destroy();
  }

  #write(b: Buffer): boolean {
    if (this.socket.destroyed || !this.socket.writable) return true;
    return this.socket.write(b);
  }
}
