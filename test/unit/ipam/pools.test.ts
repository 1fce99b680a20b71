import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { allocateAddress } from '../../../src/ipam/allocator.js';
import { DEFAULT_POOLS_V4, DEFAULT_POOLS_V6 } from '../../../src/ipam/default-pools.js';
import { MSG_POOL_OVERLAP, msgNoPool, resolvePools } from '../../../src/ipam/pools.js';
import type { PoolRequest, ResolvePoolsInput } from '../../../src/ipam/types.js';
import type { IpamPool } from '../../../src/model/network.js';

function input(over: Partial<ResolvePoolsInput> = {}): ResolvePoolsInput {
  return {
    requests: [],
    enableIPv4: true,
    enableIPv6: false,
    subnetsInUse: ['172.17.0.0/16'],
    defaultPools: DEFAULT_POOLS_V4,
    defaultPools6: DEFAULT_POOLS_V6,
    needsGateway: true,
    ...over,
  };
}

function pool(subnet: string, gateway: string, more: Partial<IpamPool> = {}): IpamPool {
  return { subnet, gateway, gatewayExplicit: false, auxAddresses: {}, fromDefaultPool: false, ...more };
}

describe('seed 004: --subnet 172.21.0.0/16 --ip-range 172.21.240.0/20', () => {
  it('gateway 172.21.240.0, then containers 172.21.240.1, .2', () => {
    const pools = resolvePools(input({ requests: [{ subnet: '172.21.0.0/16', ipRange: '172.21.240.0/20' }] }));
    assert.deepEqual(pools, [pool('172.21.0.0/16', '172.21.240.0', { ipRange: '172.21.240.0/20' })]);
    const p = pools[0] as IpamPool;
    const inUse = new Set<string>();
    const first = allocateAddress(p, inUse);
    assert.equal(first, '172.21.240.1');
    inUse.add(first);
    assert.equal(allocateAddress(p, inUse), '172.21.240.2');
  });
});

describe('default pools', () => {
  it('172.18.0.0/16 first when 172.17 is in use, gateway .1', () => {
    assert.deepEqual(resolvePools(input()), [pool('172.18.0.0/16', '172.18.0.1', { fromDefaultPool: true })]);
  });

  it('sequence: 172.18 … 172.31, then 192.168.0.0/20, then 192.168.16.0/20, then exhaustion', () => {
    const inUse = ['172.17.0.0/16'];
    const got: string[] = [];
    for (let i = 0; i < 30; i++) {
      const [p] = resolvePools(input({ subnetsInUse: inUse }));
      assert.ok(p);
      got.push(`${p.subnet} ${p.gateway}`);
      inUse.push(p.subnet);
    }
    assert.deepEqual(got.slice(0, 14), Array.from({ length: 14 }, (_, i) => `172.${18 + i}.0.0/16 172.${18 + i}.0.1`));
    assert.equal(got[14], '192.168.0.0/20 192.168.0.1');
    assert.equal(got[15], '192.168.16.0/20 192.168.16.1');
    assert.equal(got[29], '192.168.240.0/20 192.168.240.1');
    assert.throws(() => resolvePools(input({ subnetsInUse: inUse })), {
      name: 'BerthError',
      code: 'ERR_NO_POOL',
      message: 'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network',
    });
  });

  it('an explicit subnet of another network is skipped by the default choice', () => {
    const [p] = resolvePools(input({ subnetsInUse: ['172.17.0.0/16', '172.18.0.0/24'] }));
    assert.equal(p?.subnet, '172.19.0.0/16');
  });

  it('IPv6 default when --ipv6 has no IPv6 subnet: IPv4 first, then the ULA /64 with gateway ::1', () => {
    assert.deepEqual(resolvePools(input({ enableIPv6: true })), [
      pool('172.18.0.0/16', '172.18.0.1', { fromDefaultPool: true }),
      pool('fd62:6572:7468::/64', 'fd62:6572:7468::1', { fromDefaultPool: true }),
    ]);
  });

  it('next IPv6 default /64 when the first is in use', () => {
    const pools = resolvePools(input({ enableIPv6: true, subnetsInUse: ['172.17.0.0/16', 'fd62:6572:7468::/64'] }));
    assert.equal(pools[1]?.subnet, 'fd62:6572:7468:1::/64');
  });

  it('IPv6 exhaustion', () => {
    assert.throws(() => resolvePools(input({ enableIPv6: true, defaultPools6: [] })), {
      code: 'ERR_NO_POOL',
      message: msgNoPool(6),
    });
    assert.equal(msgNoPool(6), 'could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network');
  });

  it('a user IPv6 pool listed among defaultPools serves IPv6', () => {
    const pools = resolvePools(
      input({ enableIPv6: true, defaultPools: [...DEFAULT_POOLS_V4, { base: 'fd00:aa::/48', size: 64 }] }),
    );
    assert.equal(pools[1]?.subnet, 'fd00:aa::/64');
  });

  it('IPv6 only (enableIPv4 false)', () => {
    assert.deepEqual(resolvePools(input({ enableIPv4: false, enableIPv6: true })), [
      pool('fd62:6572:7468::/64', 'fd62:6572:7468::1', { fromDefaultPool: true }),
    ]);
  });
});

describe('explicit subnets', () => {
  it('canonical text out, gateway first free', () => {
    const pools = resolvePools(
      input({
        enableIPv6: true,
        requests: [{ subnet: 'FD00:0:0:1::/64', ipRange: 'fd00:0:0:1:0:0:0:100/120', gateway: 'fd00:0:0:1::0001' }],
      }),
    );
    assert.deepEqual(pools, [
      pool('172.18.0.0/16', '172.18.0.1', { fromDefaultPool: true }),
      pool('fd00:0:0:1::/64', 'fd00:0:0:1::1', { ipRange: 'fd00:0:0:1::100/120', gatewayExplicit: true }),
    ]);
  });

  it('IPv4 pools first, then IPv6, each in request order', () => {
    const pools = resolvePools(
      input({
        enableIPv6: true,
        requests: [{ subnet: 'fd00:1::/64' }, { subnet: '10.2.0.0/24' }, { subnet: 'fd00:2::/64' }, { subnet: '10.1.0.0/24' }],
      }),
    );
    assert.deepEqual(
      pools.map((p) => `${p.subnet} ${p.gateway}`),
      ['10.2.0.0/24 10.2.0.1', '10.1.0.0/24 10.1.0.1', 'fd00:1::/64 fd00:1::1', 'fd00:2::/64 fd00:2::1'],
    );
  });

  it('a second IPv4 subnet is allowed', () => {
    const pools = resolvePools(input({ requests: [{ subnet: '10.1.0.0/24' }, { subnet: '10.2.0.0/24', gateway: '10.2.0.254' }] }));
    assert.deepEqual(pools, [pool('10.1.0.0/24', '10.1.0.1'), pool('10.2.0.0/24', '10.2.0.254', { gatewayExplicit: true })]);
  });

  it('an explicit IPv4 subnet means no IPv4 default pool', () => {
    const pools = resolvePools(input({ enableIPv6: true, requests: [{ subnet: '10.1.0.0/24' }] }));
    assert.deepEqual(
      pools.map((p) => p.subnet),
      ['10.1.0.0/24', 'fd62:6572:7468::/64'],
    );
  });

  it('IPv6 requests are dropped without --ipv6, even malformed ones', () => {
    const pools = resolvePools(input({ requests: [{ subnet: '10.1.0.0/24' }, { subnet: 'fd00::1/64', gateway: 'junk' }] }));
    assert.deepEqual(pools, [pool('10.1.0.0/24', '10.1.0.1')]);
  });

  it('IPv4 requests are validated but dropped when IPv4 is disabled', () => {
    const pools = resolvePools(input({ enableIPv4: false, enableIPv6: true, requests: [{ subnet: '10.1.0.0/24' }, { subnet: 'fd00::/64' }] }));
    assert.deepEqual(pools, [pool('fd00::/64', 'fd00::1')]);
    assert.throws(() => resolvePools(input({ enableIPv4: false, requests: [{ subnet: '10.1.0.1/24' }] })), {
      code: 'ERR_INVALID_PARAMETER',
    });
  });

  it('no family enabled: no pools', () => {
    assert.deepEqual(resolvePools(input({ enableIPv4: false, enableIPv6: false })), []);
  });

  it('aux addresses are canonicalised and reserved; the gateway is chosen before them', () => {
    const pools = resolvePools(
      input({ requests: [{ subnet: '10.5.0.0/24', auxAddresses: { router: '10.5.0.2', printer: '10.5.0.3' } }] }),
    );
    assert.deepEqual(pools, [pool('10.5.0.0/24', '10.5.0.1', { auxAddresses: { router: '10.5.0.2', printer: '10.5.0.3' } })]);
    assert.equal(allocateAddress(pools[0] as IpamPool, new Set()), '10.5.0.4');
  });

  it('aux addresses outside the ip-range are fine', () => {
    const [p] = resolvePools(
      input({ requests: [{ subnet: '10.5.0.0/24', ipRange: '10.5.0.128/25', auxAddresses: { a: '10.5.0.5' } }] }),
    );
    assert.deepEqual(p, pool('10.5.0.0/24', '10.5.0.128', { ipRange: '10.5.0.128/25', auxAddresses: { a: '10.5.0.5' } }));
  });

  it('IPv4 gateway skips the network address when the ip-range starts there', () => {
    const [p] = resolvePools(input({ requests: [{ subnet: '10.5.0.0/24', ipRange: '10.5.0.0/25' }] }));
    assert.equal(p?.gateway, '10.5.0.1');
  });

  it('/31 and /32 have no reserved addresses; an IPv6 /128 has none to give', () => {
    assert.equal(resolvePools(input({ requests: [{ subnet: '10.9.0.0/31' }] }))[0]?.gateway, '10.9.0.0');
    assert.equal(resolvePools(input({ requests: [{ subnet: '10.9.0.7/32' }] }))[0]?.gateway, '10.9.0.7');
    assert.equal(resolvePools(input({ enableIPv6: true, requests: [{ subnet: 'fd00::/127' }] }))[1]?.gateway, 'fd00::1');
    assert.throws(() => resolvePools(input({ enableIPv6: true, requests: [{ subnet: 'fd00::/128' }] })), {
      code: 'ERR_NO_ADDRESS',
      message: 'failed to allocate gateway (): no available addresses on this pool',
    });
  });

  it('needsGateway false: no gateway unless one is given', () => {
    assert.deepEqual(resolvePools(input({ needsGateway: false, requests: [{ subnet: '10.1.0.0/24' }] })), [pool('10.1.0.0/24', '')]);
    assert.deepEqual(resolvePools(input({ needsGateway: false, requests: [{ subnet: '10.1.0.0/24', gateway: '10.1.0.9' }] })), [
      pool('10.1.0.0/24', '10.1.0.9', { gatewayExplicit: true }),
    ]);
  });
});

describe('overlap refusal', () => {
  const cases: { name: string; requests: PoolRequest[]; inUse: string[] }[] = [
    { name: 'inside a subnet in use', requests: [{ subnet: '172.17.5.0/24' }], inUse: ['172.17.0.0/16'] },
    { name: 'around a subnet in use', requests: [{ subnet: '172.16.0.0/12' }], inUse: ['172.17.0.0/16'] },
    { name: 'equal to a subnet in use', requests: [{ subnet: '10.0.0.0/8' }], inUse: ['10.0.0.0/8'] },
    { name: 'between two requests', requests: [{ subnet: '10.0.0.0/16' }, { subnet: '10.0.1.0/24' }], inUse: [] },
    {
      name: 'also with an ip-range (Docker skips this check, berth does not)',
      requests: [{ subnet: '172.17.0.0/16', ipRange: '172.17.128.0/17' }],
      inUse: ['172.17.0.0/16'],
    },
    { name: 'IPv6', requests: [{ subnet: 'fd00::/48' }, { subnet: 'fd00::/64' }], inUse: [] },
  ];
  for (const { name, requests, inUse } of cases) {
    it(name, () => {
      assert.throws(() => resolvePools(input({ enableIPv6: true, requests, subnetsInUse: inUse })), {
        name: 'BerthError',
        code: 'ERR_POOL_OVERLAP',
        message: MSG_POOL_OVERLAP,
      });
    });
  }
  it('has Docker text', () => {
    assert.equal(MSG_POOL_OVERLAP, 'invalid pool request: Pool overlaps with other one on this address space');
  });
  it('subnets of other families never overlap', () => {
    const v4 = resolvePools(input({ requests: [{ subnet: '10.0.0.0/8' }], subnetsInUse: ['::/0'] }));
    assert.deepEqual(
      v4.map((p) => p.subnet),
      ['10.0.0.0/8'],
    );
    const v6 = resolvePools(
      input({ enableIPv4: false, enableIPv6: true, requests: [{ subnet: 'fd00::/64' }], subnetsInUse: ['0.0.0.0/0'] }),
    );
    assert.deepEqual(
      v6.map((p) => p.subnet),
      ['fd00::/64'],
    );
  });
});

describe('validation errors (moby api/types/network/ipam.go ValidateIPAM)', () => {
  const single: { name: string; request: PoolRequest; message: string }[] = [
    { name: 'junk subnet', request: { subnet: 'foo' }, message: 'invalid subnet foo: invalid CIDR block notation' },
    { name: 'subnet without prefix', request: { subnet: '10.0.0.0' }, message: 'invalid subnet 10.0.0.0: invalid CIDR block notation' },
    { name: 'no subnet at all', request: {}, message: 'invalid subnet : invalid CIDR block notation' },
    { name: 'ip-range without subnet', request: { ipRange: '10.0.0.0/24' }, message: 'invalid subnet : invalid CIDR block notation' },
    { name: 'gateway without subnet', request: { gateway: '10.0.0.1' }, message: 'invalid subnet : invalid CIDR block notation' },
    {
      name: 'aux without subnet',
      request: { auxAddresses: { a: '10.0.0.5' } },
      message: 'invalid subnet : invalid CIDR block notation',
    },
    { name: 'host bits in subnet', request: { subnet: '10.0.0.1/8' }, message: 'invalid subnet 10.0.0.1/8: it should be 10.0.0.0/8' },
    {
      name: 'host bits in IPv6 subnet (canonical text in the message)',
      request: { subnet: 'FD00::0001/64' },
      message: 'invalid subnet fd00::1/64: it should be fd00::/64',
    },
    {
      name: 'junk ip-range',
      request: { subnet: '10.0.0.0/8', ipRange: 'foo' },
      message: 'invalid ip-range foo: invalid CIDR block notation',
    },
    {
      name: 'ip-range of the other family',
      request: { subnet: '10.0.0.0/8', ipRange: 'fd00::/64' },
      message: 'invalid ip-range fd00::/64: parent subnet is an IPv4 block',
    },
    {
      name: 'IPv4 ip-range in an IPv6 subnet',
      request: { subnet: 'fd00::/64', ipRange: '10.0.0.0/24' },
      message: 'invalid ip-range 10.0.0.0/24: parent subnet is an IPv6 block',
    },
    {
      name: 'ip-range bigger than the subnet',
      request: { subnet: '10.0.0.0/8', ipRange: '10.0.0.0/7' },
      message: 'invalid ip-range 10.0.0.0/7: CIDR block is bigger than its parent subnet 10.0.0.0/8',
    },
    {
      name: 'host bits in ip-range',
      request: { subnet: '10.0.0.0/8', ipRange: '10.0.0.1/24' },
      message: 'invalid ip-range 10.0.0.1/24: it should be 10.0.0.0/24',
    },
    {
      name: 'ip-range outside the subnet',
      request: { subnet: '10.0.0.0/8', ipRange: '11.0.0.0/24' },
      message: "invalid ip-range 11.0.0.0/24: parent subnet 10.0.0.0/8 doesn't contain ip-range",
    },
    { name: 'junk gateway', request: { subnet: '10.0.0.0/8', gateway: 'foo' }, message: 'invalid gateway foo: invalid address' },
    {
      name: 'gateway with a prefix',
      request: { subnet: '10.0.0.0/8', gateway: '10.0.0.1/8' },
      message: 'invalid gateway 10.0.0.1/8: invalid address',
    },
    {
      name: 'gateway of the other family',
      request: { subnet: '10.0.0.0/8', gateway: 'fd00::1' },
      message: 'invalid gateway fd00::1: parent subnet is an IPv4 block',
    },
    {
      name: 'gateway outside the subnet',
      request: { subnet: '10.0.0.0/8', gateway: '11.0.0.1' },
      message: "invalid gateway 11.0.0.1: parent subnet 10.0.0.0/8 doesn't contain this address",
    },
    {
      name: 'junk aux address',
      request: { subnet: '10.0.0.0/8', auxAddresses: { host1: 'foo' } },
      message: 'invalid auxiliary address host1: invalid address',
    },
    {
      name: 'aux address of the other family',
      request: { subnet: 'fd00::/64', auxAddresses: { host1: '10.0.0.1' } },
      message: 'invalid auxiliary address host1: parent subnet is an IPv6 block',
    },
    {
      name: 'aux address outside the subnet',
      request: { subnet: '10.0.0.0/8', auxAddresses: { host1: '11.0.0.1' } },
      message: "invalid auxiliary address host1: parent subnet 10.0.0.0/8 doesn't contain this address",
    },
  ];
  for (const { name, request, message } of single) {
    it(name, () => {
      assert.throws(() => resolvePools(input({ enableIPv6: true, requests: [request] })), {
        name: 'BerthError',
        code: 'ERR_INVALID_PARAMETER',
        message: `invalid network config:\n${message}`,
      });
    });
  }

  it('several problems are listed together, across requests, in order', () => {
    assert.throws(
      () =>
        resolvePools(
          input({
            requests: [
              { subnet: '10.0.0.0/8', ipRange: '9.0.0.0/7', gateway: '11.0.0.1' },
              { subnet: 'bar', gateway: 'x' },
              { subnet: '192.168.0.0/24', auxAddresses: { a: '1.1.1.1', b: 'nope' } },
            ],
          }),
        ),
      {
        code: 'ERR_INVALID_PARAMETER',
        message: [
          'invalid network config:',
          '* invalid ip-range 9.0.0.0/7: CIDR block is bigger than its parent subnet 10.0.0.0/8',
          '* invalid ip-range 9.0.0.0/7: it should be 8.0.0.0/7',
          "* invalid ip-range 9.0.0.0/7: parent subnet 10.0.0.0/8 doesn't contain ip-range",
          "* invalid gateway 11.0.0.1: parent subnet 10.0.0.0/8 doesn't contain this address",
          '* invalid subnet bar: invalid CIDR block notation',
          "* invalid auxiliary address a: parent subnet 192.168.0.0/24 doesn't contain this address",
          '* invalid auxiliary address b: invalid address',
        ].join('\n'),
      },
    );
  });

  it('validates every request before choosing anything', () => {
    // The first request overlaps a subnet in use, the second is malformed: validation wins.
    assert.throws(
      () => resolvePools(input({ requests: [{ subnet: '172.17.0.0/16' }, { subnet: '10.0.0.1/8' }] })),
      { code: 'ERR_INVALID_PARAMETER', message: 'invalid network config:\ninvalid subnet 10.0.0.1/8: it should be 10.0.0.0/8' },
    );
  });
});

describe('gateway and aux reservation (moby libnetwork/network.go ipamAllocateVersion)', () => {
  const cases: { name: string; request: PoolRequest; code: string; message: string }[] = [
    {
      name: 'gateway on the IPv4 network address',
      request: { subnet: '10.0.0.0/24', gateway: '10.0.0.0' },
      code: 'ERR_ADDRESS_IN_USE',
      message: 'failed to allocate gateway (10.0.0.0): Address already in use',
    },
    {
      name: 'gateway on the IPv4 broadcast address',
      request: { subnet: '10.0.0.0/24', gateway: '10.0.0.255' },
      code: 'ERR_ADDRESS_IN_USE',
      message: 'failed to allocate gateway (10.0.0.255): Address already in use',
    },
    {
      name: 'gateway on the IPv6 subnet-router anycast address',
      request: { subnet: 'fd00::/64', gateway: 'fd00::' },
      code: 'ERR_ADDRESS_IN_USE',
      message: 'failed to allocate gateway (fd00::): Address already in use',
    },
    {
      name: 'aux address equal to the chosen gateway',
      request: { subnet: '10.0.0.0/24', auxAddresses: { a: '10.0.0.1' } },
      code: 'ERR_ADDRESS_IN_USE',
      message: 'failed to allocate secondary ip address (a:10.0.0.1): Address already in use',
    },
    {
      name: 'aux address equal to the given gateway',
      request: { subnet: '10.0.0.0/24', gateway: '10.0.0.9', auxAddresses: { a: '10.0.0.9' } },
      code: 'ERR_ADDRESS_IN_USE',
      message: 'failed to allocate secondary ip address (a:10.0.0.9): Address already in use',
    },
    {
      name: 'two aux names for one address',
      request: { subnet: '10.0.0.0/24', auxAddresses: { a: '10.0.0.7', b: '10.0.0.7' } },
      code: 'ERR_ADDRESS_IN_USE',
      message: 'failed to allocate secondary ip address (b:10.0.0.7): Address already in use',
    },
    {
      name: 'aux address on the broadcast address',
      request: { subnet: '10.0.0.0/24', auxAddresses: { bcast: '10.0.0.255' } },
      code: 'ERR_ADDRESS_IN_USE',
      message: 'failed to allocate secondary ip address (bcast:10.0.0.255): Address already in use',
    },
  ];
  for (const { name, request, code, message } of cases) {
    it(name, () => {
      assert.throws(() => resolvePools(input({ enableIPv6: true, requests: [request] })), { name: 'BerthError', code, message });
    });
  }

  it('a /31 gateway may take the first address', () => {
    const [p] = resolvePools(input({ requests: [{ subnet: '10.0.0.0/31', gateway: '10.0.0.0' }] }));
    assert.equal(p?.gateway, '10.0.0.0');
  });
});
