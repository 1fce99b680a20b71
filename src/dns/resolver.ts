/**
 * Query + view → what to do (pure): answer from the records, forward upstream, or drop.
 *
 * Answers follow libnetwork's resolver (moby `libnetwork/resolver.go`, `sandbox_dns.go`):
 * - A/AAAA for a known name: every address, shuffled (round robin), TTL 600. A name that
 *   exists without an address of the asked family is NOERROR with no answer.
 * - `a.b.c` is tried as `a.b.c` on every network of the asker, then `a.b` on network `c`,
 *   then `a` on network `b.c`. On each network, `--link` aliases of the asker first, then
 *   names; the first network that knows the name answers.
 * - PTR for an address of a container on a shared network: `name.network.`.
 * - Other types for a known name: NOERROR, no answer (Docker answers MX so, and forwards the
 *   rest; berth answers them all so, so container names never leak upstream). ANY: A + AAAA.
 * - Everything else is forwarded — unless the container only has internal networks
 *   (SERVFAIL), or it set ndots itself and asked a single label (empty NOERROR, so the client
 *   goes on with its search list).
 */
import { type SandboxView, type NameRecords, type Upstream } from './records.js';
import {
  CLASS_IN,
  encodeHeaderOnly,
  encodeResponse,
  parseQuery,
  QTYPE,
  RCODE,
  responseLimit,
  type AnswerRecord,
  type Query,
} from './wire.js';

/** What the server does with one packet. */
export type Decision =
  | { readonly kind: 'answer'; readonly packet: Buffer }
  | {
      readonly kind: 'forward';
      readonly query: Query;
      readonly upstreams: readonly Upstream[];
      /** Bytes the client accepts in the answer. */
      readonly limit: number;
    }
  | { readonly kind: 'drop' };

const CLASS_ANY = 255;

/**
 * Decides what to do with `packet`, received over `transport` by the resolver of a sandbox
 * whose view is `view` (undefined: the sandbox is not known, answer SERVFAIL). `random` is
 * injected for the shuffle.
 */
export function resolve(
  packet: Buffer,
  view: SandboxView | undefined,
  transport: 'udp' | 'tcp',
  random: () => number = Math.random,
): Decision {
  const parsed = parseQuery(packet);
  if (parsed.kind === 'drop') return parsed;
  if (parsed.kind === 'error') return { kind: 'answer', packet: encodeHeaderOnly(parsed.id, parsed.flags, parsed.rcode) };
  const q = parsed.query;
  const limit = responseLimit(transport, q);
  const reply = (rcode: number, answers: readonly AnswerRecord[] = []): Decision => ({
    kind: 'answer',
    packet: encodeResponse(packet, q, rcode, answers, limit),
  });
  if (q.edns !== undefined && q.edns.version !== 0) return reply(RCODE.BADVERS);
  if (view === undefined) return reply(RCODE.SERVFAIL);

  if (q.name !== undefined && (q.qclass === CLASS_IN || q.qclass === CLASS_ANY)) {
    if (q.qtype === QTYPE.PTR) {
      for (const n of view.networks) {
        const ptr = n.reverse.get(q.name);
        if (ptr !== undefined) return reply(RCODE.NOERROR, [ptr]);
      }
    } else {
      const found = lookupName(view, q.name);
      if (found !== undefined) return reply(RCODE.NOERROR, answersFor(found, q.qtype, random));
    }
    const singleLabel = q.name !== '' && !q.name.includes('.');
    if (view.ndotsSet && singleLabel && (q.qtype === QTYPE.A || q.qtype === QTYPE.AAAA)) return reply(RCODE.NOERROR);
  }

  if (!view.mayForward || view.upstreams.length === 0) return reply(RCODE.SERVFAIL);
  return { kind: 'forward', query: q, upstreams: view.upstreams, limit };
}

/** The records a lowercased name has in a view, by libnetwork's search order; undefined if none. */
export function lookupName(view: SandboxView, name: string): NameRecords | undefined {
  if (name === '') return undefined;
  // `a.b.c` on all networks, then `a.b` on network `c`, then `a` on network `b.c`.
  let dot = name.length;
  let req = name;
  let net: string | undefined;
  for (;;) {
    const found = lookupOn(view, req, net);
    if (found !== undefined) return found;
    dot = name.lastIndexOf('.', dot - 1);
    if (dot <= 0) return undefined;
    req = name.slice(0, dot);
    net = name.slice(dot + 1);
  }
}

function lookupOn(view: SandboxView, name: string, network: string | undefined): NameRecords | undefined {
  // The asker's own link aliases first, on every network, then plain names.
  for (const n of view.networks) {
    if (network !== undefined && n.name !== network) continue;
    const target = view.linkAliases.get(n.id)?.get(name);
    const found = target === undefined ? undefined : n.names.get(target);
    if (found !== undefined) return found;
  }
  for (const n of view.networks) {
    if (network !== undefined && n.name !== network) continue;
    if (view.linkAliases.get(n.id)?.has(name) === true) continue;
    const found = n.names.get(name);
    if (found !== undefined) return found;
  }
  return undefined;
}

function answersFor(r: NameRecords, qtype: number, random: () => number): readonly AnswerRecord[] {
  switch (qtype) {
    case QTYPE.A:
      return shuffled(r.a, random);
    case QTYPE.AAAA:
      return shuffled(r.aaaa, random);
    case QTYPE.ANY:
      return [...shuffled(r.a, random), ...shuffled(r.aaaa, random)];
    default:
      return [];
  }
}

/** Fisher–Yates on a copy; one record is returned as is. */
function shuffled<T>(list: readonly T[], random: () => number): readonly T[] {
  if (list.length < 2) return list;
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = out[i] as T;
    out[i] = out[j] as T;
    out[j] = t;
  }
  return out;
}

/** A SERVFAIL answer to a query that was to be forwarded (no upstream answered). */
export function servfail(packet: Buffer, query: Query, limit: number): Buffer {
  return encodeResponse(packet, query, RCODE.SERVFAIL, [], limit);
}
