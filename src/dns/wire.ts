/**
 * The DNS wire format, as much as the embedded resolver needs (RFC 1035, RFC 6891 for EDNS):
 * read one query strictly, and write answers to it. Pure; no I/O.
 *
 * Why not dns-packet on this path: it decodes every name into a string and encodes responses
 * from objects; measured on this machine with 16 queries in flight, a dgram server answering
 * through dns-packet decode+encode managed 104k q/s where the same server writing the bytes
 * itself managed 160k (the echo floor: 164k). Answers here copy the question bytes from the
 * query and point at them (name compression), so nothing is decoded twice. dns-packet remains
 * the independent decoder the unit tests check these bytes with.
 */

/** Record types the resolver knows by number. */
export const QTYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, ANY: 255 } as const;
/** The Internet class. */
export const CLASS_IN = 1;
/** Response codes (RFC 1035 §4.1.1; BADVERS is extended, RFC 6891). */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16 } as const;

/** Bytes of the fixed header. */
export const HEADER_BYTES = 12;
/** A UDP answer without EDNS may not exceed this (RFC 1035 §4.2.1). */
export const CLASSIC_UDP_BYTES = 512;
/** The largest message DNS can carry (TCP length prefix). */
export const MAX_MESSAGE_BYTES = 65535;
/** UDP payload size we advertise in our OPT records (DNS flag day 2020). */
export const ADVERTISED_UDP_BYTES = 1232;
/** Answers from the embedded DNS live this long (Docker: 600 s). */
export const ANSWER_TTL = 600;

const FLAG_QR = 0x8000;
const FLAG_TC = 0x0200;
const FLAG_RD = 0x0100;
const FLAG_RA = 0x0080;
const FLAG_CD = 0x0010;
const MAX_NAME_BYTES = 255;
const MAX_LABEL_BYTES = 63;

/** EDNS(0) data of a query's OPT record. */
export interface Edns {
  /** The requestor's UDP payload size, at least 512 (smaller values mean 512, RFC 6891 §6.2.5). */
  readonly udpSize: number;
  readonly version: number;
  /** The DNSSEC OK bit. */
  readonly dnssecOk: boolean;
}

/** One well-formed standard query. */
export interface Query {
  readonly id: number;
  /** Header bits echoed in the answer: RD and CD. */
  readonly echoFlags: number;
  /**
   * The question name lowercased, without the trailing dot, labels joined by '.'; `''` for the
   * root. `undefined` when a label holds a '.' or a byte outside printable ASCII: such a name
   * cannot be one of ours (it can still be forwarded).
   */
  readonly name: string | undefined;
  readonly qtype: number;
  readonly qclass: number;
  /** End of the question: bytes [12, questionEnd) are the question, echoed in answers. */
  readonly questionEnd: number;
  readonly edns: Edns | undefined;
}

/** What a packet turned out to be. */
export type ParsedPacket =
  | { readonly kind: 'query'; readonly query: Query }
  /** Unusable but with a readable header: answer `rcode` (FORMERR, NOTIMP) with no question. */
  | { readonly kind: 'error'; readonly id: number; readonly flags: number; readonly rcode: number }
  /** Not worth an answer: shorter than a header, or a response (answering those loops). */
  | { readonly kind: 'drop' };

/** Reads one query. Never throws: malformed input gives `error` or `drop`. */
export function parseQuery(packet: Buffer): ParsedPacket {
  if (packet.length < HEADER_BYTES) return { kind: 'drop' };
  const id = packet.readUInt16BE(0);
  const flags = packet.readUInt16BE(2);
  if ((flags & FLAG_QR) !== 0) return { kind: 'drop' };
  const opcode = (flags >> 11) & 0xf;
  // What an error answer echoes: the opcode and RD.
  const errFlags = flags & (0x7800 | FLAG_RD);
  const formerr = { kind: 'error', id, flags: errFlags, rcode: RCODE.FORMERR } as const;
  if (opcode !== 0) return { kind: 'error', id, flags: errFlags, rcode: RCODE.NOTIMP };
  if (packet.readUInt16BE(4) !== 1) return formerr;

  // The question: labels only (a compression pointer could only point into the header).
  let off = HEADER_BYTES;
  let name: string | undefined = '';
  let printable = true;
  for (;;) {
    const len = packet[off];
    if (len === undefined) return formerr;
    if (len === 0) {
      off += 1;
      break;
    }
    if (len > MAX_LABEL_BYTES) return formerr;
    const end = off + 1 + len;
    if (end > packet.length || end - HEADER_BYTES >= MAX_NAME_BYTES) return formerr;
    for (let i = off + 1; i < end && printable; i++) {
      const b = packet[i] as number;
      if (b <= 0x20 || b >= 0x7f || b === 0x2e) printable = false;
    }
    if (printable) name += (name === '' ? '' : '.') + packet.toString('latin1', off + 1, end);
    off = end;
  }
  if (off + 4 > packet.length) return formerr;
  const qtype = packet.readUInt16BE(off);
  const qclass = packet.readUInt16BE(off + 2);
  const questionEnd = off + 4;

  // Answer, authority and additional records: skipped, except an OPT record among the additional.
  const ancount = packet.readUInt16BE(6);
  const nscount = packet.readUInt16BE(8);
  const arcount = packet.readUInt16BE(10);
  let edns: Edns | undefined;
  off = questionEnd;
  for (let i = 0; i < ancount + nscount + arcount; i++) {
    const nameEnd = skipName(packet, off);
    if (nameEnd < 0 || nameEnd + 10 > packet.length) return formerr;
    const type = packet.readUInt16BE(nameEnd);
    const rdlength = packet.readUInt16BE(nameEnd + 8);
    const next = nameEnd + 10 + rdlength;
    if (next > packet.length) return formerr;
    if (type === QTYPE.OPT) {
      // One OPT, in the additional section, owned by the root (RFC 6891 §6.1.1).
      if (edns !== undefined || i < ancount + nscount || nameEnd !== off + 1) return formerr;
      const ttl = packet.readUInt32BE(nameEnd + 4);
      edns = {
        udpSize: Math.max(CLASSIC_UDP_BYTES, packet.readUInt16BE(nameEnd + 2)),
        version: (ttl >>> 16) & 0xff,
        dnssecOk: (ttl & 0x8000) !== 0,
      };
    }
    off = next;
  }
  name = printable ? (name as string).toLowerCase() : undefined;
  return {
    kind: 'query',
    query: { id, echoFlags: flags & (FLAG_RD | FLAG_CD), name, qtype, qclass, questionEnd, edns },
  };
}

/** The offset after the name at `off` (labels, possibly ending in a pointer), or -1. */
function skipName(packet: Buffer, off: number): number {
  let total = 0;
  for (;;) {
    const len = packet[off];
    if (len === undefined) return -1;
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2 <= packet.length ? off + 2 : -1;
    if ((len & 0xc0) !== 0) return -1; // 0x40/0x80: obsolete label types
    total += len + 1;
    if (total >= MAX_NAME_BYTES) return -1;
    off += 1 + len;
  }
}

/** One answer record for the question's own name. */
export interface AnswerRecord {
  readonly type: number;
  /** The RDATA bytes (4 for A, 16 for AAAA, an encoded name for PTR). */
  readonly rdata: Buffer;
}

/** How large an answer may be, from the transport and the query's EDNS size. */
export function responseLimit(transport: 'udp' | 'tcp', query: Query | undefined): number {
  if (transport === 'tcp') return MAX_MESSAGE_BYTES;
  return Math.min(MAX_MESSAGE_BYTES, query?.edns?.udpSize ?? CLASSIC_UDP_BYTES);
}

const OPT_BYTES = 11;

/**
 * An answer to `query` (read from `packet`): the question echoed, `answers` owned by the
 * question's name (a pointer to it), an OPT record when the query had one. Answers that do not
 * fit in `limit` bytes are left out and TC is set (the client retries over TCP).
 */
export function encodeResponse(packet: Buffer, query: Query, rcode: number, answers: readonly AnswerRecord[], limit: number): Buffer {
  const questionBytes = query.questionEnd - HEADER_BYTES;
  const optBytes = query.edns === undefined ? 0 : OPT_BYTES;
  let size = HEADER_BYTES + questionBytes + optBytes;
  let count = 0;
  for (const a of answers) {
    const rr = 12 + a.rdata.length;
    if (size + rr > limit) break;
    size += rr;
    count++;
  }
  const truncated = count < answers.length;
  const out = Buffer.allocUnsafe(size);
  out.writeUInt16BE(query.id, 0);
  out.writeUInt16BE(FLAG_QR | FLAG_RA | query.echoFlags | (truncated ? FLAG_TC : 0) | (rcode & 0xf), 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(count, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(optBytes === 0 ? 0 : 1, 10);
  packet.copy(out, HEADER_BYTES, HEADER_BYTES, query.questionEnd);
  let off = query.questionEnd;
  for (let i = 0; i < count; i++) {
    const a = answers[i] as AnswerRecord;
    out.writeUInt16BE(0xc000 | HEADER_BYTES, off); // the question's name
    out.writeUInt16BE(a.type, off + 2);
    out.writeUInt16BE(CLASS_IN, off + 4);
    out.writeUInt32BE(ANSWER_TTL, off + 6);
    out.writeUInt16BE(a.rdata.length, off + 10);
    a.rdata.copy(out, off + 12);
    off += 12 + a.rdata.length;
  }
  if (optBytes !== 0) writeOpt(out, off, rcode);
  return out;
}

/** Our OPT record: root owner, our UDP size, the extended rcode bits, version 0. */
function writeOpt(out: Buffer, off: number, rcode: number): void {
  out[off] = 0;
  out.writeUInt16BE(QTYPE.OPT, off + 1);
  out.writeUInt16BE(ADVERTISED_UDP_BYTES, off + 3);
  out.writeUInt32BE(((rcode >> 4) & 0xff) << 24, off + 5);
  out.writeUInt16BE(0, off + 9);
}

/** A header-only answer (FORMERR, NOTIMP) for a packet whose question could not be used. */
export function encodeHeaderOnly(id: number, flags: number, rcode: number): Buffer {
  const out = Buffer.alloc(HEADER_BYTES);
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(FLAG_QR | FLAG_RA | flags | (rcode & 0xf), 2);
  return out;
}

/**
 * A domain name in wire form (no compression), or undefined when it cannot be one (a label
 * longer than 63 bytes, an empty label, a name over 255 bytes, non-ASCII).
 */
export function encodeName(name: string): Buffer | undefined {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed === '') return Buffer.from([0]);
  if (!/^[\x21-\x7e]+$/.test(trimmed)) return undefined;
  const labels = trimmed.split('.');
  const out = Buffer.allocUnsafe(trimmed.length + 2);
  let off = 0;
  for (const l of labels) {
    if (l.length === 0 || l.length > MAX_LABEL_BYTES) return undefined;
    out[off] = l.length;
    out.write(l, off + 1, 'latin1');
    off += 1 + l.length;
  }
  out[off] = 0;
  return off + 1 > MAX_NAME_BYTES ? undefined : out;
}

/** The 16-bit ID of a message (the caller has checked it has a header). */
export function messageId(packet: Buffer): number {
  return packet.readUInt16BE(0);
}

/** A copy of `packet` with its ID replaced. */
export function withId(packet: Buffer, id: number): Buffer {
  const out = Buffer.from(packet);
  out.writeUInt16BE(id, 0);
  return out;
}

/** True when a message has the TC bit. */
export function isTruncated(packet: Buffer): boolean {
  return packet.length >= HEADER_BYTES && (packet.readUInt16BE(2) & FLAG_TC) !== 0;
}

/** True when `reply` is a response whose question section equals the query's (RFC 5452 §9.1). */
export function answersQuestion(reply: Buffer, query: Buffer, questionEnd: number): boolean {
  if (reply.length < questionEnd || (reply.readUInt16BE(2) & FLAG_QR) === 0) return false;
  if (reply.readUInt16BE(4) !== 1) return false;
  // The name case-insensitively (resolvers may answer in another case), type and class exactly.
  for (let i = HEADER_BYTES; i < questionEnd - 4; i++) {
    if (asciiLower(reply[i] as number) !== asciiLower(query[i] as number)) return false;
  }
  return reply.readUInt32BE(questionEnd - 4) === query.readUInt32BE(questionEnd - 4);
}

function asciiLower(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
}

/**
 * A forwarded answer cut down to `limit` bytes for a UDP client: the header with TC set and the
 * question only (RFC 2181 §9: the client then asks again over TCP).
 */
export function truncateToQuestion(reply: Buffer, questionEnd: number): Buffer {
  const out = Buffer.from(reply.subarray(0, questionEnd));
  out.writeUInt16BE(out.readUInt16BE(2) | FLAG_TC, 2);
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(0, 10);
  return out;
}

/**
 * Splits a TCP byte stream into DNS messages (each after a 2-byte length, RFC 1035 §4.2.2).
 * Chunks are kept as they come and joined once per message, so a client dribbling one byte at a
 * time costs linear work, not a copy of everything so far per byte.
 */
export class TcpFramer {
  readonly #maxBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;

  /** `maxBytes`: a message announced larger than this is an error (see `push`). */
  constructor(maxBytes: number = MAX_MESSAGE_BYTES) {
    this.#maxBytes = maxBytes;
  }

  /**
   * Adds a chunk; returns the messages it completed, or undefined when the stream announced a
   * message over `maxBytes` (the caller closes the connection).
   */
  push(chunk: Buffer): Buffer[] | undefined {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.#buffered < 2) return out;
      const head = this.#peek2();
      if (head > this.#maxBytes) return undefined;
      if (this.#buffered < 2 + head) return out;
      const all = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks, this.#buffered);
      out.push(Buffer.from(all.subarray(2, 2 + head)));
      const rest = all.subarray(2 + head);
      this.#chunks = rest.length > 0 ? [rest] : [];
      this.#buffered = rest.length;
    }
  }

  #peek2(): number {
    const first = this.#chunks[0] as Buffer;
    if (first.length >= 2) return first.readUInt16BE(0);
    const second = this.#chunks[1] as Buffer;
    return ((first[0] as number) << 8) | (second[0] as number);
  }
}
