import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { allocateAddress, firstFreeAddress, reservedAddresses } from '../../../src/ipam/allocator.js';
import { formatIp, nthAddress, parseCidr } from '../../../src/model/cidr.js';
import type { IpamPool } from '../../../src/model/network.js';

function pool(subnet: string, gateway: string, more: Partial<IpamPool> = {}): IpamPool {
  return { subnet, gateway, gatewayExplicit: false, auxAddresses: {}, fromDefaultPool: false, ...more };
}

/** Allocates `n` addresses one after the other, as successive containers would. */
function allocateMany(p: IpamPool, n: number, inUse = new Set<string>()): string[] {
  const got: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = allocateAddress(p, inUse);
    inUse.add(a);
    got.push(a);
  }
  return got;
}

describe('reservedAddresses (moby defaultipam newPoolData)', () => {
  const cases: [string, string[]][] = [
    ['10.0.0.0/24', ['10.0.0.0', '10.0.0.255']],
    ['10.0.0.0/30', ['10.0.0.0', '10.0.0.3']],
    ['10.0.0.0/31', []],
    ['10.0.0.1/32', []],
    ['fd00::/64', ['fd00::']],
    ['fd00::/127', ['fd00::']],
    ['fd00::1/128', ['fd00::1']],
  ];
  for (const [subnet, expected] of cases) {
    it(subnet, () => {
      const c = parseCidr(subnet);
      assert.deepEqual(
        reservedAddresses(c).map((v) => formatIp({ family: c.family, value: v })),
        expected,
      );
    });
  }
});

describe('first free allocation', () => {
  const table: { name: string; pool: IpamPool; inUse?: string[]; expected: string[] }[] = [
    { name: 'default bridge', pool: pool('172.17.0.0/16', '172.17.0.1'), expected: ['172.17.0.2', '172.17.0.3', '172.17.0.4'] },
    {
      name: 'seed 004 ip-range',
      pool: pool('172.21.0.0/16', '172.21.240.0', { ipRange: '172.21.240.0/20' }),
      expected: ['172.21.240.1', '172.21.240.2'],
    },
    {
      name: 'ip-range starting at the subnet network address skips it',
      pool: pool('10.0.0.0/24', '10.0.0.1', { ipRange: '10.0.0.0/28' }),
      expected: ['10.0.0.2', '10.0.0.3'],
    },
    {
      name: 'explicit gateway elsewhere: containers start at .1',
      pool: pool('10.0.0.0/24', '10.0.0.254', { gatewayExplicit: true }),
      expected: ['10.0.0.1', '10.0.0.2'],
    },
    {
      name: 'aux addresses are skipped',
      pool: pool('10.5.0.0/24', '10.5.0.1', { auxAddresses: { router: '10.5.0.2', printer: '10.5.0.4' } }),
      expected: ['10.5.0.3', '10.5.0.5', '10.5.0.6'],
    },
    {
      name: 'a freed address is handed out again first',
      pool: pool('172.18.0.0/16', '172.18.0.1'),
      inUse: ['172.18.0.2', '172.18.0.4'],
      expected: ['172.18.0.3', '172.18.0.5'],
    },
    {
      name: 'in-use entries with a prefix length count',
      pool: pool('172.18.0.0/16', '172.18.0.1'),
      inUse: ['172.18.0.2/16', '172.18.0.3/16'],
      expected: ['172.18.0.4'],
    },
    {
      name: 'entries of the other family are ignored',
      pool: pool('172.18.0.0/16', '172.18.0.1'),
      inUse: ['fd00::2'],
      expected: ['172.18.0.2'],
    },
    { name: 'IPv6: gateway ::1, first container ::2', pool: pool('fd00:1::/64', 'fd00:1::1'), expected: ['fd00:1::2', 'fd00:1::3'] },
    {
      name: 'IPv6 in-use text need not be canonical',
      pool: pool('fd00:1::/64', 'fd00:1::1'),
      inUse: ['FD00:1:0:0::0002'],
      expected: ['fd00:1::3'],
    },
    {
      name: 'IPv6 ip-range',
      pool: pool('fd00::/64', 'fd00::100', { ipRange: 'fd00::100/120' }),
      expected: ['fd00::101', 'fd00::102'],
    },
    { name: '/31 has no reserved addresses', pool: pool('10.0.0.0/31', '10.0.0.0'), expected: ['10.0.0.1'] },
    { name: 'pool without a gateway', pool: pool('10.0.0.0/24', ''), expected: ['10.0.0.1', '10.0.0.2'] },
  ];
  for (const { name, pool: p, inUse = [], expected } of table) {
    it(name, () => {
      assert.deepEqual(allocateMany(p, expected.length, new Set(inUse)), expected);
    });
  }
});

describe('exhaustion', () => {
  it('a /30 holds the gateway and one container', () => {
    const p = pool('10.0.0.0/30', '10.0.0.1');
    const inUse = new Set<string>();
    assert.equal(allocateAddress(p, inUse), '10.0.0.2');
    inUse.add('10.0.0.2');
    assert.throws(() => allocateAddress(p, inUse), {
      name: 'BerthError',
      code: 'ERR_NO_ADDRESS',
      message: 'no available addresses on this pool',
    });
  });
  it('a full ip-range, even with the subnet mostly free', () => {
    const p = pool('10.0.0.0/24', '10.0.0.1', { ipRange: '10.0.0.0/30' });
    // .0 is the subnet's network address, .1 the gateway; .3 is not the subnet's broadcast.
    assert.deepEqual(allocateMany(p, 2), ['10.0.0.2', '10.0.0.3']);
    assert.throws(() => allocateAddress(p, new Set(['10.0.0.2', '10.0.0.3'])), { code: 'ERR_NO_ADDRESS' });
  });
  it('a /32 whose only address is the gateway', () => {
    assert.throws(() => allocateAddress(pool('10.0.0.7/32', '10.0.0.7'), new Set()), { code: 'ERR_NO_ADDRESS' });
  });
});

describe('preferred address (--ip / --ip6)', () => {
  const p = pool('10.0.0.0/24', '10.0.0.1', { ipRange: '10.0.0.128/25', auxAddresses: { a: '10.0.0.50' } });
  const inUse = new Set(['10.0.0.129']);

  it('inside the ip-range', () => {
    assert.equal(allocateAddress(p, inUse, '10.0.0.200'), '10.0.0.200');
  });
  it('outside the ip-range but inside the subnet, as Docker allows', () => {
    assert.equal(allocateAddress(p, inUse, '10.0.0.20'), '10.0.0.20');
  });
  it('IPv6 text is returned canonical', () => {
    assert.equal(allocateAddress(pool('fd00::/64', 'fd00::1'), new Set(), 'FD00::0005'), 'fd00::5');
  });

  const refused: { name: string; preferred: string; code: string; message: string }[] = [
    {
      name: 'outside the subnet',
      preferred: '10.1.0.5',
      code: 'ERR_ADDRESS_OUT_OF_RANGE',
      message: 'no configured subnet or ip-range contain the IP address 10.1.0.5',
    },
    {
      name: 'other family',
      preferred: 'fd00::5',
      code: 'ERR_ADDRESS_OUT_OF_RANGE',
      message: 'no configured subnet or ip-range contain the IP address fd00::5',
    },
    { name: 'in use', preferred: '10.0.0.129', code: 'ERR_ADDRESS_IN_USE', message: 'Address already in use' },
    { name: 'the gateway', preferred: '10.0.0.1', code: 'ERR_ADDRESS_IN_USE', message: 'Address already in use' },
    { name: 'an aux address', preferred: '10.0.0.50', code: 'ERR_ADDRESS_IN_USE', message: 'Address already in use' },
    { name: 'the network address', preferred: '10.0.0.0', code: 'ERR_ADDRESS_IN_USE', message: 'Address already in use' },
    { name: 'the broadcast address', preferred: '10.0.0.255', code: 'ERR_ADDRESS_IN_USE', message: 'Address already in use' },
    { name: 'not an address', preferred: 'foo', code: 'ERR_INVALID_PARAMETER', message: 'invalid IPv4 address: foo' },
  ];
  for (const { name, preferred, code, message } of refused) {
    it(`refused: ${name}`, () => {
      assert.throws(() => allocateAddress(p, inUse, preferred), { name: 'BerthError', code, message });
    });
  }

  it('IPv6 subnet-router anycast address is refused', () => {
    assert.throws(() => allocateAddress(pool('fd00::/64', 'fd00::1'), new Set(), 'fd00::'), { code: 'ERR_ADDRESS_IN_USE' });
  });
  it('an empty preferred address means none', () => {
    assert.equal(allocateAddress(p, inUse, ''), '10.0.0.128');
  });
});

describe('bad input', () => {
  it('a non-address in the in-use set is a bug upstream', () => {
    assert.throws(() => allocateAddress(pool('10.0.0.0/24', '10.0.0.1'), new Set(['junk'])), {
      code: 'ERR_INTERNAL',
      message: 'ipam: address in use is not an IP address: junk',
    });
  });
});

describe('firstFreeAddress', () => {
  it('returns undefined when every address is blocked', () => {
    const c = parseCidr('10.0.0.0/30');
    assert.equal(firstFreeAddress(c, new Set([0x0a000000n, 0x0a000001n, 0x0a000002n, 0x0a000003n])), undefined);
    assert.equal(firstFreeAddress(c, new Set([0x0a000000n, 0x0a000002n])), 0x0a000001n);
  });
});

describe('performance', () => {
  it('/16 with thousands in use: each allocation is O(in use), not O(pool)', () => {
    const p = pool('172.18.0.0/16', '172.18.0.1');
    const subnet = parseCidr('172.18.0.0/16');
    const inUse = new Set<string>();
    for (let i = 2; i < 5002; i++) inUse.add(formatIp(nthAddress(subnet, i)));
    const t0 = performance.now();
    const got = allocateMany(p, 200, inUse);
    const ms = performance.now() - t0;
    assert.equal(got[0], '172.18.19.138'); // index 5002
    assert.equal(got[199], formatIp(nthAddress(subnet, 5201)));
    assert.ok(ms < 3000, `200 allocations with ~5,000 in use took ${ms.toFixed(0)} ms`);
  });

  it('a /8 does not hang: empty, full at the front, and with --ip', () => {
    const p = pool('10.0.0.0/8', '10.0.0.1');
    const t0 = performance.now();
    assert.equal(allocateAddress(p, new Set()), '10.0.0.2');
    const subnet = parseCidr('10.0.0.0/8');
    const inUse = new Set<string>();
    for (let i = 2; i < 20002; i++) inUse.add(formatIp(nthAddress(subnet, i)));
    assert.equal(allocateAddress(p, inUse), formatIp(nthAddress(subnet, 20002)));
    assert.equal(allocateAddress(p, inUse, '10.255.255.254'), '10.255.255.254');
    const ms = performance.now() - t0;
    assert.ok(ms < 3000, `took ${ms.toFixed(0)} ms`);
  });

  it('an IPv6 /64 with thousands in use', () => {
    const p = pool('fd00::/64', 'fd00::1');
    const subnet = parseCidr('fd00::/64');
    const inUse = new Set<string>();
    for (let i = 2; i < 10002; i++) inUse.add(formatIp(nthAddress(subnet, i)));
    const t0 = performance.now();
    assert.equal(allocateAddress(p, inUse), 'fd00::2712'); // 10002 = 0x2712
    assert.ok(performance.now() - t0 < 3000);
  });
});
