import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  candidateSubnets,
  DEFAULT_POOLS_V4,
  DEFAULT_POOLS_V6,
  findFreeSubnet,
  parseDefaultAddressPool,
  sortDefaultPools,
  splitPoolsByFamily,
} from '../../../src/ipam/default-pools.js';
import { parseCidr, toCidrText, type Cidr } from '../../../src/model/cidr.js';

const cidrs = (texts: readonly string[]): Cidr[] => texts.map((t) => parseCidr(t));
const free = (pools: Parameters<typeof findFreeSubnet>[0], inUse: readonly string[]): string | undefined => {
  const c = findFreeSubnet(pools, cidrs(inUse));
  return c === undefined ? undefined : toCidrText(c);
};

const SEVENTEEN_TO_31 = Array.from({ length: 15 }, (_, i) => `172.${17 + i}.0.0/16`);

describe('Docker IPv4 default candidates', () => {
  it('are 172.17–31.0.0/16 then 192.168.0.0/16 in /20s: 31 in all', () => {
    const all = [...candidateSubnets(DEFAULT_POOLS_V4)];
    const v192 = Array.from({ length: 16 }, (_, i) => `192.168.${i * 16}.0/20`);
    assert.deepEqual(all, [...SEVENTEEN_TO_31, ...v192]);
  });
});

describe('berth IPv6 default candidates', () => {
  it('are /64s of the fixed ULA fd62:6572:7468::/48', () => {
    const it6 = candidateSubnets(DEFAULT_POOLS_V6);
    assert.equal(it6.next().value, 'fd62:6572:7468::/64');
    assert.equal(it6.next().value, 'fd62:6572:7468:1::/64');
    assert.equal(it6.next().value, 'fd62:6572:7468:2::/64');
  });
  it('is lazy on huge splits', () => {
    const it8 = candidateSubnets([{ base: '10.0.0.0/8', size: 30 }]);
    assert.equal(it8.next().value, '10.0.0.0/30');
    assert.equal(it8.next().value, '10.0.0.4/30');
  });
});

describe('findFreeSubnet', () => {
  const table: { name: string; inUse: string[]; expected: string | undefined }[] = [
    { name: 'nothing in use', inUse: [], expected: '172.17.0.0/16' },
    { name: '172.17 in use (the default bridge)', inUse: ['172.17.0.0/16'], expected: '172.18.0.0/16' },
    { name: 'a hole is reused', inUse: ['172.17.0.0/16', '172.19.0.0/16'], expected: '172.18.0.0/16' },
    { name: 'partial overlap skips the candidate', inUse: ['172.17.0.0/16', '172.18.5.0/24'], expected: '172.19.0.0/16' },
    { name: 'a wide subnet in use skips many', inUse: ['172.16.0.0/12'], expected: '192.168.0.0/20' },
    { name: 'after 172.31 comes 192.168.0.0/20', inUse: SEVENTEEN_TO_31, expected: '192.168.0.0/20' },
    { name: 'then 192.168.16.0/20', inUse: [...SEVENTEEN_TO_31, '192.168.0.0/20'], expected: '192.168.16.0/20' },
    { name: 'a host route inside 192.168.0.0/20', inUse: [...SEVENTEEN_TO_31, '192.168.1.0/24'], expected: '192.168.16.0/20' },
    { name: 'other families do not count', inUse: ['::/0'], expected: '172.17.0.0/16' },
    {
      name: 'everything in use',
      inUse: [...SEVENTEEN_TO_31, '192.168.0.0/16'],
      expected: undefined,
    },
  ];
  for (const { name, inUse, expected } of table) {
    it(name, () => {
      assert.equal(free(DEFAULT_POOLS_V4, inUse), expected);
    });
  }

  it('a user pool base=10.10.0.0/16,size=24', () => {
    const pools = [parseDefaultAddressPool('base=10.10.0.0/16,size=24')];
    assert.equal(free(pools, []), '10.10.0.0/24');
    assert.equal(free(pools, ['10.10.0.0/24', '10.10.1.0/24']), '10.10.2.0/24');
    assert.equal(free(pools, ['10.10.0.0/16']), undefined);
  });

  it('jumps instead of walking: a /8 in /30s with the first 2^20 addresses taken', () => {
    const pools = [{ base: '10.0.0.0/8', size: 30 }];
    const inUse = ['10.0.0.0/12', ...Array.from({ length: 2000 }, (_, i) => `10.16.${i >> 8}.${i & 255}/32`)];
    const t0 = performance.now();
    assert.equal(free(pools, inUse), '10.16.7.208/30');
    assert.ok(performance.now() - t0 < 2000, 'finds the gap without walking four million candidates');
  });

  it('IPv6 default with the first /64s taken', () => {
    assert.equal(free(DEFAULT_POOLS_V6, ['fd62:6572:7468::/64', 'fd62:6572:7468:1::/64']), 'fd62:6572:7468:2::/64');
    assert.equal(free(DEFAULT_POOLS_V6, ['fd62:6572:7468::/48']), undefined);
  });
});

describe('parseDefaultAddressPool (dockerd --default-address-pool)', () => {
  const valid: [string, { base: string; size: number }][] = [
    ['base=10.10.0.0/16,size=24', { base: '10.10.0.0/16', size: 24 }],
    ['size=24,base=10.10.0.0/16', { base: '10.10.0.0/16', size: 24 }],
    ['BASE=10.10.0.0/16,SIZE=24', { base: '10.10.0.0/16', size: 24 }],
    ['"base=10.10.0.0/16","size=24"', { base: '10.10.0.0/16', size: 24 }],
    ['base=10.10.1.0/16,size=24', { base: '10.10.0.0/16', size: 24 }], // masked
    ['base=FD00::/48,size=64', { base: 'fd00::/48', size: 64 }],
    ['base=10.0.0.0/8,size=8', { base: '10.0.0.0/8', size: 8 }],
  ];
  for (const [text, expected] of valid) {
    it(`parses ${text}`, () => {
      assert.deepEqual(parseDefaultAddressPool(text), expected);
    });
  }

  const errors: [string, string][] = [
    ['base=10.10.0.0/16,size', "invalid field 'size' must be a key=value pair"],
    [
      'base=10.10.0.0/16,size=x',
      'invalid size value: "base=10.10.0.0/16,size=x" (must be integer): strconv.Atoi: parsing "x": invalid syntax',
    ],
    ['base=10.10.0.0/16,scope=local', "unexpected key 'scope' in 'scope=local'"],
    ['size=24', 'invalid base pool "": invalid CIDR address: '],
    ['base=foo,size=24', 'invalid base pool "foo": invalid CIDR address: foo'],
    ['base=10.10.0.0/16,size=8', 'invalid pools size: 8'],
    ['base=10.10.0.0/16', 'invalid pools size: 0'],
    ['base=10.10.0.0/16,size=-1', 'invalid pools size: -1'],
    ['base=10.10.0.0/16,size=33', 'invalid pools size: 33'],
  ];
  for (const [text, message] of errors) {
    it(`refuses ${text}`, () => {
      assert.throws(() => parseDefaultAddressPool(text), { name: 'BerthError', code: 'ERR_INVALID_PARAMETER', message });
    });
  }
});

describe('sortDefaultPools and splitPoolsByFamily', () => {
  it('orders by base and drops pools overlapping an earlier one, as Docker 27+', () => {
    const sorted = sortDefaultPools([
      { base: '192.168.0.0/16', size: 24 },
      { base: 'fd00::/48', size: 64 },
      { base: '10.1.0.0/16', size: 24 },
      { base: '10.0.0.0/8', size: 24 },
    ]);
    assert.deepEqual(sorted, [
      { base: '10.0.0.0/8', size: 24 },
      { base: '192.168.0.0/16', size: 24 },
      { base: 'fd00::/48', size: 64 },
    ]);
  });
  it('splits by family keeping order', () => {
    const { v4, v6 } = splitPoolsByFamily([
      { base: 'fd00::/48', size: 64 },
      { base: '10.0.0.0/8', size: 24 },
      { base: '192.168.0.0/16', size: 24 },
    ]);
    assert.deepEqual(v4.map((p) => p.base), ['10.0.0.0/8', '192.168.0.0/16']);
    assert.deepEqual(v6.map((p) => p.base), ['fd00::/48']);
  });
});
