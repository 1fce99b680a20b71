/**
 * The DNS wire codec: queries as real clients send them (encoded by dns-packet, an independent
 * implementation), malformed packets, and answers checked by decoding them with dns-packet.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as dnsPacket from 'dns-packet';
import {
  answersQuestion,
  encodeHeaderOnly,
  encodeName,
  encodeResponse,
  parseQuery,
  QTYPE,
  RCODE,
  responseLimit,
  TcpFramer,
  truncateToQuestion,
  type Query,
} from '../../../src/dns/wire.js';
import { query } from './fixture.js';

function parsed(packet: Buffer): Query {
  const p = parseQuery(packet);
  assert.equal(p.kind, 'query', `expected a query, got ${JSON.stringify(p)}`);
  return (p as { query: Query }).query;
}

/** The raw header + a question built by hand (for packets dns-packet would not make). */
function raw(header: number[], ...rest: number[][]): Buffer {
  return Buffer.from([...header, ...rest.flat()]);
}
const HDR = (qd = 1, an = 0, ns = 0, ar = 0, flags = 0x0100) => [0xab, 0xcd, flags >> 8, flags & 0xff, 0, qd, 0, an, 0, ns, 0, ar];
const C4_A = [2, 0x63, 0x34, 0, 0, 1, 0, 1];

describe('parseQuery', () => {
  it('reads name (lowercased), type, class, id and the question end', () => {
    const q = parsed(query('Web.New-Bridge', 'AAAA', { id: 77 }));
    assert.equal(q.id, 77);
    assert.equal(q.name, 'web.new-bridge');
    assert.equal(q.qtype, QTYPE.AAAA);
    assert.equal(q.qclass, 1);
    assert.equal(q.questionEnd, 12 + 16 + 4);
    assert.equal(q.edns, undefined);
  });

  it('reads EDNS: UDP size (at least 512), version, DO', () => {
    assert.deepEqual(parsed(query('c4', 'A', { edns: 1232 })).edns, { udpSize: 1232, version: 0, dnssecOk: false });
    assert.equal(parsed(query('c4', 'A', { edns: 100 })).edns?.udpSize, 512);
    assert.equal(parsed(query('c4', 'A', { edns: 4096, ednsVersion: 1 })).edns?.version, 1);
  });

  it('gives the root as an empty name', () => {
    assert.equal(parsed(query('.', 'NS')).name, '');
  });

  it('marks names that cannot be ours (a dot or a control byte inside a label)', () => {
    assert.equal(parsed(raw(HDR(), [3, 0x61, 0x2e, 0x62, 0, 0, 1, 0, 1])).name, undefined);
    assert.equal(parsed(raw(HDR(), [2, 0x61, 0x00, 0, 0, 1, 0, 1])).name, undefined);
    assert.equal(parsed(raw(HDR(), [2, 0x61, 0xff, 0, 0, 1, 0, 1])).name, undefined);
  });

  const malformed: [string, Buffer, string][] = [
    ['empty', Buffer.alloc(0), 'drop'],
    ['shorter than a header', Buffer.from([1, 2, 3]), 'drop'],
    ['a response (QR set)', raw(HDR(1, 0, 0, 0, 0x8180), C4_A), 'drop'],
    ['opcode STATUS', raw(HDR(1, 0, 0, 0, 0x1000), C4_A), 'error:4'],
    ['no question', raw(HDR(0)), 'error:1'],
    ['two questions', raw(HDR(2), C4_A, C4_A), 'error:1'],
    ['name runs off the end', raw(HDR(), [5, 0x61, 0x62]), 'error:1'],
    ['no type/class', raw(HDR(), [2, 0x63, 0x34, 0, 0, 1]), 'error:1'],
    ['label longer than 63', raw(HDR(), [64, ...Array(64).fill(0x61), 0, 0, 1, 0, 1]), 'error:1'],
    ['compression pointer in the question', raw(HDR(), [0xc0, 0x0c, 0, 1, 0, 1]), 'error:1'],
    ['name over 255 bytes', raw(HDR(), ...Array(5).fill([60, ...Array(60).fill(0x61)]), [0, 0, 1, 0, 1]), 'error:1'],
    ['additional record cut short', raw(HDR(1, 0, 0, 1), C4_A, [0, 0, 41, 4]), 'error:1'],
    ['additional rdata past the end', raw(HDR(1, 0, 0, 1), C4_A, [0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 9]), 'error:1'],
    ['two OPT records', raw(HDR(1, 0, 0, 2), C4_A, [0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0], [0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0]), 'error:1'],
    ['OPT with a non-root owner', raw(HDR(1, 0, 0, 1), C4_A, [1, 0x61, 0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0]), 'error:1'],
    ['OPT in the answer section', raw(HDR(1, 1, 0, 0), C4_A, [0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0]), 'error:1'],
    ['obsolete label type in a record name', raw(HDR(1, 0, 0, 1), C4_A, [0x40, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0]), 'error:1'],
  ];
  for (const [what, packet, want] of malformed) {
    it(`malformed: ${what} → ${want}`, () => {
      const p = parseQuery(packet);
      assert.equal(p.kind === 'error' ? `error:${p.rcode}` : p.kind, want);
      if (p.kind === 'error') {
        assert.equal(p.id, 0xabcd);
        const ans = dnsPacket.decode(encodeHeaderOnly(p.id, p.flags, p.rcode));
        assert.equal(ans.id, 0xabcd);
        assert.equal(ans.type, 'response');
        assert.equal((ans as unknown as { rcode: string }).rcode, p.rcode === RCODE.FORMERR ? 'FORMERR' : 'NOTIMP');
      }
    });
  }

  it('never throws on random bytes or on any prefix of a real query', () => {
    let seed = 42;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let i = 0; i < 20000; i++) {
      const b = Buffer.alloc(rnd() % 80);
      for (let j = 0; j < b.length; j++) b[j] = rnd() & 0xff;
      if (b.length > 5 && i % 2 === 0) b[5] = 1; // often one question
      if (b.length > 2 && i % 2 === 0) b[2] = (b[2] as number) & 0x7f; // often a query
      parseQuery(b);
    }
    const q = query('web.new-bridge', 'A', { edns: 1232 });
    for (let n = 0; n <= q.length; n++) parseQuery(q.subarray(0, n));
  });
});

describe('encodeResponse', () => {
  const a = (ip: string) => ({ type: QTYPE.A, rdata: Buffer.from(ip.split('.').map(Number)) });

  it('echoes id, RD and the question (with its case), points answers at it, TTL 600, RA set', () => {
    const packet = query('C4', 'A', { id: 4242 });
    const out = dnsPacket.decode(encodeResponse(packet, parsed(packet), RCODE.NOERROR, [a('172.18.0.3')], 512));
    assert.equal(out.id, 4242);
    assert.equal(out.type, 'response');
    assert.equal(out.flag_rd, true);
    assert.equal(out.flag_ra, true);
    assert.equal(out.flag_aa, false);
    assert.equal(out.flag_tc, false);
    assert.deepEqual(out.questions, [{ name: 'C4', type: 'A', class: 'IN' }]);
    assert.deepEqual(
      out.answers?.map((r) => [r.name, r.type, (r as dnsPacket.StringAnswer).ttl, (r as dnsPacket.StringAnswer).data]),
      [['C4', 'A', 600, '172.18.0.3']],
    );
  });

  it('carries an OPT record when the query had one, with the extended rcode bits', () => {
    const packet = query('c4', 'A', { edns: 4096 });
    const out = dnsPacket.decode(encodeResponse(packet, parsed(packet), RCODE.BADVERS, [], 4096));
    const opt = out.additionals?.[0] as dnsPacket.OptAnswer;
    assert.equal(opt.type, 'OPT');
    assert.equal(opt.udpPayloadSize, 1232);
    assert.equal(opt.extendedRcode, 1); // 16 >> 4
  });

  it('leaves out what does not fit and sets TC', () => {
    const packet = query('web', 'A');
    const answers = Array.from({ length: 40 }, (_, i) => a(`10.0.0.${i + 1}`));
    const small = encodeResponse(packet, parsed(packet), RCODE.NOERROR, answers, responseLimit('udp', parsed(packet)));
    assert.ok(small.length <= 512);
    const out = dnsPacket.decode(small);
    assert.equal(out.flag_tc, true);
    assert.ok((out.answers?.length ?? 0) > 0 && (out.answers?.length ?? 0) < 40);
    const full = dnsPacket.decode(encodeResponse(packet, parsed(packet), RCODE.NOERROR, answers, responseLimit('tcp', parsed(packet))));
    assert.equal(full.flag_tc, false);
    assert.equal(full.answers?.length, 40);
  });

  it('answer limits: 512 over UDP, the EDNS size when larger, 65535 over TCP', () => {
    assert.equal(responseLimit('udp', parsed(query('x'))), 512);
    assert.equal(responseLimit('udp', parsed(query('x', 'A', { edns: 1232 }))), 1232);
    assert.equal(responseLimit('tcp', parsed(query('x'))), 65535);
  });
});

describe('names and forwarded answers', () => {
  it('encodeName: wire form, or undefined for what cannot be a name', () => {
    assert.deepEqual(encodeName('c4.new-bridge'), Buffer.from([2, 0x63, 0x34, 10, ...Buffer.from('new-bridge'), 0]));
    assert.deepEqual(encodeName('c4.'), Buffer.from([2, 0x63, 0x34, 0]));
    assert.equal(encodeName(`${'a'.repeat(64)}.net`), undefined);
    assert.equal(encodeName('a..b'), undefined);
    assert.equal(encodeName('é.net'), undefined);
  });

  it('answersQuestion: same question in any case; another question or a query is not an answer', () => {
    const q = query('Example.COM');
    const end = parsed(q).questionEnd;
    const reply = (name: string, type: dnsPacket.RecordType = 'A') =>
      dnsPacket.encode({ type: 'response', id: 0x1234, flags: 0x8180, questions: [{ name, type }] });
    assert.equal(answersQuestion(reply('example.com'), q, end), true);
    assert.equal(answersQuestion(reply('example.org'), q, end), false);
    assert.equal(answersQuestion(reply('example.com', 'AAAA'), q, end), false);
    assert.equal(answersQuestion(q, q, end), false);
  });

  it('truncateToQuestion keeps header and question, sets TC, drops records', () => {
    const full = dnsPacket.encode({
      type: 'response',
      id: 9,
      flags: 0x8180,
      questions: [{ name: 'big.example', type: 'TXT' }],
      answers: [{ name: 'big.example', type: 'TXT', data: 'x'.repeat(200) }],
    });
    const q = query('big.example', 'TXT');
    const out = dnsPacket.decode(truncateToQuestion(full, parsed(q).questionEnd));
    assert.equal(out.flag_tc, true);
    assert.equal(out.answers?.length, 0);
    assert.deepEqual(out.questions?.map((x) => x.name), ['big.example']);
  });
});

describe('TcpFramer', () => {
  const frame = (b: Buffer) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
  const m1 = query('c4');
  const m2 = query('web.new-bridge', 'AAAA');

  it('splits messages however the stream is cut', () => {
    const stream = Buffer.concat([frame(m1), frame(m2), frame(m1)]);
    for (const cut of [1, 2, 3, 7, stream.length]) {
      const f = new TcpFramer();
      const got: Buffer[] = [];
      for (let i = 0; i < stream.length; i += cut) got.push(...(f.push(stream.subarray(i, i + cut)) ?? assert.fail('oversized')));
      assert.deepEqual(got, [m1, m2, m1], `cut ${cut}`);
    }
  });

  it('reports a message announced over the limit, and an empty frame is an empty message', () => {
    assert.equal(new TcpFramer(100).push(Buffer.from([0x01, 0x00, 1, 2])), undefined);
    assert.deepEqual(new TcpFramer().push(Buffer.from([0, 0])), [Buffer.alloc(0)]);
  });
});
