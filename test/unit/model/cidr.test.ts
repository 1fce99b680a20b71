import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalCidr,
  cidrContains,
  cidrContainsCidr,
  cidrSize,
  cidrsOverlap,
  firstAddress,
  formatCidr,
  formatIp,
  formatIPv4,
  formatIPv6,
  isMasked,
  lastAddress,
  macFromIPv4,
  maskCidr,
  nthAddress,
  parseCidr,
  parseIp,
  parseIPv4,
  parseIPv6,
  toCidrText,
  tryParseCidr,
  tryParseIp,
} from '../../../src/model/cidr.js';

describe('IPv4 parse/format', () => {
  const valid: [string, bigint][] = [
    ['0.0.0.0', 0n],
    ['255.255.255.255', 0xffffffffn],
    ['172.17.0.2', 0xac110002n],
    ['10.0.0.1', 0x0a000001n],
    ['192.168.100.200', 0xc0a864c8n],
  ];
  for (const [text, value] of valid) {
    it(`parses and formats ${text}`, () => {
      assert.equal(parseIPv4(text), value);
      assert.equal(formatIPv4(value), text);
      assert.deepEqual(parseIp(text), { family: 4, value });
    });
  }

  const invalidTexts = [
    '',
    '1.2.3',
    '1.2.3.4.5',
    '01.2.3.4', // netip refuses leading zeros
    '1.2.3.04',
    '256.1.1.1',
    '1..2.3',
    '.1.2.3',
    '1.2.3.',
    ' 1.2.3.4',
    '1.2.3.4 ',
    'a.b.c.d',
    '-1.2.3.4',
    '1.2.3.4/24',
  ];
  for (const text of invalidTexts) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      assert.equal(parseIPv4(text), undefined);
      assert.equal(tryParseIp(text), undefined);
    });
  }
});

describe('IPv6 parse/format (RFC 5952, as Go netip prints)', () => {
  const canonical: [string, string][] = [
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // tie: the first run is compressed
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'], // the longest run wins
    ['0:0:1:0:0:0:0:0', '0:0:1::'],
    ['::', '::'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'], // `::` for one group is accepted on input
    ['FD00::ABCD', 'fd00::abcd'],
    ['fd00:0:0:0:0:0:0:1', 'fd00::1'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::ffff:0102:0304', '::ffff:1.2.3.4'], // IPv4-mapped prints dotted
    ['::1.2.3.4', '::102:304'], // other embedded IPv4 prints in hex
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ['fe80::1:2:3:4', 'fe80::1:2:3:4'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ];
  for (const [input, expected] of canonical) {
    it(`${input} → ${expected}`, () => {
      const value = parseIPv6(input);
      assert.notEqual(value, undefined);
      assert.equal(formatIPv6(value as bigint), expected);
      assert.equal(formatIp(parseIp(input)), expected);
      assert.equal(parseIPv6(expected), value, 'canonical text parses back to the same value');
    });
  }

  it('computes values', () => {
    assert.equal(parseIPv6('::1'), 1n);
    assert.equal(parseIPv6('fd00::'), 0xfd00n << 112n);
    assert.equal(parseIPv6('::ffff:1.2.3.4'), 0xffff01020304n);
  });

  const invalidTexts = [
    '',
    ':',
    ':::',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1::2::3',
    '12345::',
    'fe80::1%eth0', // zones are refused (netip.ParsePrefix refuses them too)
    '1:2:3:4:5:6:7:8::',
    '::1:2:3:4:5:6:7:8',
    ':1::',
    '1:',
    '1::2:',
    'g::',
    '1:2:3:4:5:6:7:1.2.3.4',
    '::1.2.3',
    '::01.2.3.4',
    '::1.2.3.4:1',
    '[::1]',
  ];
  for (const text of invalidTexts) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      assert.equal(parseIPv6(text), undefined);
      assert.equal(tryParseIp(text), undefined);
    });
  }
});

describe('parseIp errors', () => {
  it('uses Go net.ParseError wording', () => {
    assert.throws(() => parseIp('foo'), { name: 'BerthError', code: 'ERR_INVALID_PARAMETER', message: 'invalid IP address: foo' });
  });
});

describe('parseCidr', () => {
  const valid: [string, { family: 4 | 6; addr: bigint; prefix: number }][] = [
    ['10.0.0.0/8', { family: 4, addr: 0x0a000000n, prefix: 8 }],
    ['10.0.0.1/8', { family: 4, addr: 0x0a000001n, prefix: 8 }], // host bits kept
    ['0.0.0.0/0', { family: 4, addr: 0n, prefix: 0 }],
    ['1.2.3.4/32', { family: 4, addr: 0x01020304n, prefix: 32 }],
    ['::/0', { family: 6, addr: 0n, prefix: 0 }],
    ['fd00::/64', { family: 6, addr: 0xfd00n << 112n, prefix: 64 }],
    ['::1/128', { family: 6, addr: 1n, prefix: 128 }],
  ];
  for (const [text, expected] of valid) {
    it(`parses ${text}`, () => {
      assert.deepEqual(parseCidr(text), expected);
    });
  }

  const invalidTexts = [
    'foo',
    '',
    '10.0.0.0',
    '10.0.0.0/',
    '10.0.0.0/33',
    '10.0.0.0/08', // netip: no leading zeros in the prefix length
    '10.0.0.0/-1',
    '10.0.0.0/+8',
    '10.0.0.0/8/8',
    '10.0.0/8',
    '::/129',
    'fe80::%eth0/64',
    '/8',
  ];
  for (const text of invalidTexts) {
    it(`refuses ${JSON.stringify(text)} with Go's text`, () => {
      assert.equal(tryParseCidr(text), undefined);
      assert.throws(() => parseCidr(text), {
        name: 'BerthError',
        code: 'ERR_INVALID_PARAMETER',
        message: `invalid CIDR address: ${text}`,
      });
    });
  }
});

describe('canonical network form', () => {
  const cases: [string, string, boolean][] = [
    ['172.18.0.5/16', '172.18.0.0/16', false],
    ['172.18.0.0/16', '172.18.0.0/16', true],
    ['10.1.2.3/0', '0.0.0.0/0', false],
    ['10.1.2.3/32', '10.1.2.3/32', true],
    ['FD00:0:0:0::1/64', 'fd00::/64', false],
    ['2001:db8:1:2::/48', '2001:db8:1::/48', false],
    ['fd00::1/128', 'fd00::1/128', true],
  ];
  for (const [input, expected, masked] of cases) {
    it(`${input} → ${expected}`, () => {
      assert.equal(canonicalCidr(input), expected);
      assert.equal(toCidrText(parseCidr(input)), expected);
      assert.equal(isMasked(parseCidr(input)), masked);
      assert.equal(formatCidr(maskCidr(parseCidr(input))), expected);
    });
  }
  it('formatCidr keeps host bits as netip.Prefix.String does', () => {
    assert.equal(formatCidr(parseCidr('10.0.0.1/8')), '10.0.0.1/8');
    assert.equal(formatCidr(parseCidr('FD00::0001/64')), 'fd00::1/64');
  });
});

describe('first/last/size/nth', () => {
  it('IPv4 /24', () => {
    const c = parseCidr('192.168.1.77/24');
    assert.equal(formatIPv4(firstAddress(c)), '192.168.1.0');
    assert.equal(formatIPv4(lastAddress(c)), '192.168.1.255');
    assert.equal(cidrSize(c), 256n);
    assert.equal(formatIp(nthAddress(c, 0)), '192.168.1.0');
    assert.equal(formatIp(nthAddress(c, 1)), '192.168.1.1');
    assert.equal(formatIp(nthAddress(c, 255n)), '192.168.1.255');
    assert.equal(formatIp(nthAddress(c, -1)), '192.168.1.255');
    assert.equal(formatIp(nthAddress(c, -2)), '192.168.1.254');
  });
  it('IPv4 /0 and /32', () => {
    assert.equal(cidrSize(parseCidr('0.0.0.0/0')), 1n << 32n);
    assert.equal(formatIPv4(lastAddress(parseCidr('0.0.0.0/0'))), '255.255.255.255');
    const host = parseCidr('10.9.8.7/32');
    assert.equal(firstAddress(host), lastAddress(host));
  });
  it('IPv6 /64', () => {
    const c = parseCidr('fd00:1::/64');
    assert.equal(cidrSize(c), 1n << 64n);
    assert.equal(formatIp(nthAddress(c, 1)), 'fd00:1::1');
    assert.equal(formatIp(nthAddress(c, -1)), 'fd00:1::ffff:ffff:ffff:ffff');
  });
  it('nthAddress refuses indexes outside the prefix', () => {
    const c = parseCidr('10.0.0.0/30');
    assert.throws(() => nthAddress(c, 4), { code: 'ERR_ADDRESS_OUT_OF_RANGE', message: 'address index 4 is outside 10.0.0.0/30' });
    assert.throws(() => nthAddress(c, -5), { code: 'ERR_ADDRESS_OUT_OF_RANGE' });
  });
});

describe('contains and overlaps', () => {
  const contains: [string, string, boolean][] = [
    ['10.0.0.0/8', '10.255.255.255', true],
    ['10.0.0.0/8', '11.0.0.0', false],
    ['10.0.0.1/8', '10.0.0.0', true], // host bits of the prefix do not matter
    ['0.0.0.0/0', '1.2.3.4', true],
    ['10.0.0.0/8', '::ffff:10.0.0.1', false], // other family
    ['fd00::/64', 'fd00::ffff', true],
    ['fd00::/64', 'fd00:0:0:1::', false],
    ['fd00::/64', '10.0.0.1', false],
  ];
  for (const [cidr, ip, expected] of contains) {
    it(`${cidr} contains ${ip}: ${expected}`, () => {
      assert.equal(cidrContains(parseCidr(cidr), parseIp(ip)), expected);
    });
  }

  const overlaps: [string, string, boolean, boolean][] = [
    // a, b, overlaps, a contains b
    ['172.17.0.0/16', '172.17.5.0/24', true, true],
    ['172.17.5.0/24', '172.17.0.0/16', true, false],
    ['172.17.0.0/16', '172.18.0.0/16', false, false],
    ['172.16.0.0/12', '172.31.255.0/24', true, true],
    ['172.16.0.0/12', '172.32.0.0/16', false, false],
    ['10.0.0.0/24', '10.0.0.0/24', true, true],
    ['0.0.0.0/0', '10.0.0.0/8', true, true],
    ['fd00::/48', 'fd00:0:0:ffff::/64', true, true],
    ['fd00::/48', 'fd00:0:1::/64', false, false],
    ['10.0.0.0/8', '::/0', false, false],
  ];
  for (const [a, b, overlap, aContainsB] of overlaps) {
    it(`${a} vs ${b}`, () => {
      assert.equal(cidrsOverlap(parseCidr(a), parseCidr(b)), overlap);
      assert.equal(cidrsOverlap(parseCidr(b), parseCidr(a)), overlap);
      assert.equal(cidrContainsCidr(parseCidr(a), parseCidr(b)), aContainsB);
    });
  }
});

describe('macFromIPv4', () => {
  const cases: [string, string][] = [
    ['172.17.0.2', '02:42:ac:11:00:02'], // the seeds' container MAC
    ['172.17.0.3', '02:42:ac:11:00:03'],
    ['10.0.0.255', '02:42:0a:00:00:ff'],
    ['192.168.16.1', '02:42:c0:a8:10:01'],
  ];
  for (const [ip, mac] of cases) {
    it(`${ip} → ${mac}`, () => {
      assert.equal(macFromIPv4(ip), mac);
      assert.equal(macFromIPv4(parseIp(ip)), mac);
    });
  }
  it('refuses IPv6', () => {
    assert.throws(() => macFromIPv4('fd00::2'), {
      code: 'ERR_INVALID_PARAMETER',
      message: 'cannot derive a MAC address from fd00::2: not an IPv4 address',
    });
  });
});
