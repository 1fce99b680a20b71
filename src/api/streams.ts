/**
 * Docker's multiplexed stream framing for non-tty output: an 8-byte header
 * `[stream, 0, 0, 0, size (u32 BE)]` then `size` bytes, stream 1 = stdout, 2 = stderr.
 */

/** Stream ids of the framing. */
export const STDOUT = 1;
export const STDERR = 2;

/** One frame. */
export function frame(stream: 1 | 2, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** Writes and waits for the drain when the peer is slow. */
export async function writeAll(out: NodeJS.WritableStream, data: Buffer): Promise<void> {
  if (data.length === 0) return;
  if (!out.write(data)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
}

/** Splits framed bytes back into frames (for clients and tests); returns what is left over. */
export function parseFrames(data: Buffer): { frames: { stream: number; payload: Buffer }[]; rest: Buffer } {
  const frames: { stream: number; payload: Buffer }[] = [];
  let off = 0;
  while (data.length - off >= 8) {
    const size = data.readUInt32BE(off + 4);
    if (data.length - off - 8 < size) break;
    frames.push({ stream: data[off] as number, payload: data.subarray(off + 8, off + 8 + size) });
    off += 8 + size;
  }
  return { frames, rest: data.subarray(off) };
}
