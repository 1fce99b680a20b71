// Reading a device's FDB and neighbour entries back: the two dump requests byte for byte (same
// bytes as iproute2's `bridge fdb show` and `ip neigh show dev vx0`, captured with strace -xx,
// seq zeroed), the kernel's replies decoded and filtered (fixtures read from a real netlink
// socket in a scratch netns holding a bridge br0 (ifindex 2), a veth ul1/ul0 (3, 4) and a
// vxlan vx0 (5) enslaved to br0), and the FakeKernel's model of the same.
import assert from 'node:assert/strict';
import { endianness } from 'node:os';
import { describe, it } from 'node:test';

import { KernelError } from '../../../src/errors.js';
import { Errno } from '../../../src/kernel/errno.js';
import { FakeKernel } from '../../../src/kernel/fake-kernel.js';
import * as C from '../../../src/kernel/netlink/constants.js';
import { decodeDeviceNeighbours, decodeMessages, decodeNeigh, MalformedNetlinkError } from '../../../src/kernel/netlink/decode.js';
import { encodeFdbDump, encodeNeighDump } from '../../../src/kernel/netlink/encode.js';

const hex = (...parts: string[]): string => parts.join('').replace(/\s+/g, '');
const littleEndian = endianness() === 'LE';

/**
 * An AF_BRIDGE dump, three of its thirteen messages: a multicast entry of br0 (self, no dst),
 * the bridge's entry for its port vx0 (master, no dst), and vx0's own entry towards a VTEP
 * (`bridge fdb add 02:42:0a:fc:00:03 dev vx0 dst 192.0.2.2 self permanent`), then DONE.
 */
const FDB_DUMP = hex(
  '28000000 1c00 0200 79a7026b d5140000', // RTM_NEWNEIGH, NLM_F_MULTI
  '07 00 0000 02000000 8000 02 00', // AF_BRIDGE, ifindex 2, NUD_PERMANENT, NTF_SELF
  '0a00 0200 333300000001 0000', // NDA_LLADDR 33:33:00:00:00:01
  '4c000000 1c00 0200 79a7026b d5140000',
  '07 00 0000 05000000 8000 00 00', // ifindex 5, NUD_PERMANENT, no flags (bridge entry)
  '0a00 0200 96270aef4299 0000', // NDA_LLADDR
  '0800 0900 02000000', // NDA_MASTER 2
  '0800 0f00 00000000', // NDA_FLAGS_EXT
  '1400 0300 00000000e41d0000e41d000000000000', // NDA_CACHEINFO
  '44000000 1c00 0200 79a7026b d5140000',
  '07 00 0000 05000000 c000 02 01', // ifindex 5, NUD_NOARP|NUD_PERMANENT, NTF_SELF, RTN_UNICAST
  '0a00 0200 02420afc0003 0000', // NDA_LLADDR 02:42:0a:fc:00:03
  '0800 0100 c0000202', // NDA_DST 192.0.2.2
  '1400 0300 00000000e41d0000e41d000000000000',
  '14000000 0300 0200 79a7026b d5140000 00000000', // NLMSG_DONE
);

/**
 * An unfiltered AF_UNSPEC neighbour dump (NDA_IFINDEX 0): br0's IGMP multicast entry
 * (NUD_NOARP), vx0's 10.252.0.3 and fd00::3, ul0's 10.252.0.9 (all `nud permanent`).
 */
const NEIGH_DUMP = hex(
  '4c000000 1c00 0200 7aa7026b d5140000',
  '02 00 0000 02000000 4000 00 05', // AF_INET, ifindex 2, NUD_NOARP, RTN_MULTICAST
  '0800 0100 e0000016', // NDA_DST 224.0.0.22
  '0a00 0200 01005e000016 0000',
  '0800 0400 00000000', // NDA_PROBES
  '1400 0300 53350000e31d0000e31d000000000000',
  '4c000000 1c00 0200 7aa7026b d5140000',
  '02 00 0000 05000000 8000 00 01', // AF_INET, ifindex 5, NUD_PERMANENT
  '0800 0100 0afc0003', // 10.252.0.3
  '0a00 0200 02420afc0003 0000',
  '0800 0400 00000000',
  '1400 0300 e41d0000e41d0000e41d000000000000',
  '4c000000 1c00 0200 7aa7026b d5140000',
  '02 00 0000 04000000 8000 00 01', // AF_INET, ifindex 4
  '0800 0100 0afc0009', // 10.252.0.9
  '0a00 0200 020000000009 0000',
  '0800 0400 00000000',
  '1400 0300 121d0000121d0000121d000000000000',
  '58000000 1c00 0200 7aa7026b d5140000',
  '0a 00 0000 05000000 8000 00 01', // AF_INET6, ifindex 5
  '1400 0100 fd000000000000000000000000000003', // fd00::3
  '0a00 0200 02420afc0003 0000',
  '0800 0400 00000000',
  '1400 0300 121d0000121d0000121d000000000000',
  '14000000 0300 0200 7aa7026b d5140000 00000000',
);

const messages = (text: string) => decodeMessages(Buffer.from(text, 'hex'));

describe('neighbour dumps on the wire', { skip: littleEndian ? false : 'fixtures are little-endian' }, () => {
  it('asks for the whole bridge FDB with a bare ndmsg, and for one device\'s neighbours with NDA_IFINDEX', () => {
    assert.equal(encodeFdbDump().toString('hex'), hex('1c000000 1e00 0103 00000000 00000000', '07 00 0000 00000000 0000 00 00'));
    assert.equal(
      encodeNeighDump(5).toString('hex'),
      hex('24000000 1e00 0103 00000000 00000000', '00 00 0000 00000000 0000 00 00', '0800 0800 05000000'),
    );
  });

  it('decodes FDB and neighbour messages', () => {
    const fdb = messages(FDB_DUMP);
    assert.deepEqual(
      fdb.map((m) => m.type),
      [C.RTM_NEWNEIGH, C.RTM_NEWNEIGH, C.RTM_NEWNEIGH, C.NLMSG_DONE],
    );
    assert.deepEqual(decodeNeigh(fdb[0]!.payload), { family: C.AF_BRIDGE, ifindex: 2, state: C.NUD_PERMANENT, flags: C.NTF_SELF, dst: undefined, mac: '33:33:00:00:00:01' });
    assert.deepEqual(decodeNeigh(fdb[1]!.payload), { family: C.AF_BRIDGE, ifindex: 5, state: C.NUD_PERMANENT, flags: 0, dst: undefined, mac: '96:27:0a:ef:42:99' });
    assert.deepEqual(decodeNeigh(fdb[2]!.payload), {
      family: C.AF_BRIDGE,
      ifindex: 5,
      state: C.NUD_NOARP | C.NUD_PERMANENT,
      flags: C.NTF_SELF,
      dst: '192.0.2.2',
      mac: '02:42:0a:fc:00:03',
    });
    const neigh = messages(NEIGH_DUMP);
    assert.deepEqual(decodeNeigh(neigh[0]!.payload), { family: C.AF_INET, ifindex: 2, state: C.NUD_NOARP, flags: 0, dst: '224.0.0.22', mac: '01:00:5e:00:00:16' });
    assert.deepEqual(decodeNeigh(neigh[3]!.payload), { family: C.AF_INET6, ifindex: 5, state: C.NUD_PERMANENT, flags: 0, dst: 'fd00::3', mac: '02:42:0a:fc:00:03' });
    assert.throws(() => decodeNeigh(Buffer.alloc(8)), MalformedNetlinkError);
  });

  it("keeps exactly the device's permanent entries: its own FDB entries with a remote, its IPv4 and IPv6 neighbours", () => {
    const fdb = messages(FDB_DUMP);
    const neigh = messages(NEIGH_DUMP);
    assert.deepEqual(decodeDeviceNeighbours(fdb, neigh, 5), {
      fdb: [{ mac: '02:42:0a:fc:00:03', dst: '192.0.2.2' }],
      neigh: [
        { ip: '10.252.0.3', mac: '02:42:0a:fc:00:03' },
        { ip: 'fd00::3', mac: '02:42:0a:fc:00:03' },
      ],
    });
    assert.deepEqual(decodeDeviceNeighbours(fdb, neigh, 4), { fdb: [], neigh: [{ ip: '10.252.0.9', mac: '02:00:00:00:00:09' }] });
    // br0: a self multicast entry without remote, a NOARP multicast neighbour: neither counts.
    assert.deepEqual(decodeDeviceNeighbours(fdb, neigh, 2), { fdb: [], neigh: [] });
  });
});

describe('FakeKernel listNeighbours', () => {
  const setup = () => {
    const kernel = new FakeKernel();
    kernel.linkAdd(null, { name: 'vx0', info: { kind: 'vxlan', vni: 42, port: 4789, learning: false } });
    kernel.linkAdd(null, { name: 'vx1', info: { kind: 'vxlan', vni: 43, port: 4789, learning: false } });
    return kernel;
  };
  const errnoOf = (fn: () => unknown): number | undefined => {
    try {
      fn();
    } catch (err) {
      return err instanceof KernelError ? err.errno : -1;
    }
    return undefined;
  };

  it("lists what was added to the device, not other devices' entries; reads record no op", () => {
    const kernel = setup();
    kernel.fdbAdd(null, 'vx0', '02:42:0A:FC:00:03', '192.0.2.2');
    kernel.neighAdd(null, 'vx0', '10.252.0.3', '02:42:0A:FC:00:03');
    kernel.fdbAdd(null, 'vx1', '02:42:0a:fc:00:04', '192.0.2.3');
    kernel.neighAdd(null, 'vx1', '10.252.0.4', '02:42:0a:fc:00:04');
    const ops = kernel.ops.length;
    assert.deepEqual(kernel.listNeighbours(null, 'vx0'), {
      fdb: [{ mac: '02:42:0a:fc:00:03', dst: '192.0.2.2' }],
      neigh: [{ ip: '10.252.0.3', mac: '02:42:0a:fc:00:03' }],
    });
    assert.equal(kernel.ops.length, ops);
    kernel.neighDel(null, 'vx0', '10.252.0.3');
    kernel.fdbDel(null, 'vx0', '02:42:0a:fc:00:03', '192.0.2.2');
    assert.deepEqual(kernel.listNeighbours(null, 'vx0'), { fdb: [], neigh: [] });
    kernel.linkDel(null, 'vx1');
    assert.equal(errnoOf(() => kernel.listNeighbours(null, 'vx1')), Errno.ENODEV);
    assert.equal(errnoOf(() => kernel.listNeighbours('/run/netns/none', 'vx0')), Errno.ENOENT);
  });

  it('one entry per unicast MAC, a list of remotes for the all-zero MAC; fdb-del towards the any-address drops the whole entry', () => {
    const kernel = setup();
    kernel.fdbAdd(null, 'vx0', '02:42:0a:fc:00:03', '192.0.2.2');
    assert.equal(errnoOf(() => kernel.fdbAdd(null, 'vx0', '02:42:0a:fc:00:03', '192.0.2.9')), Errno.EEXIST);
    kernel.fdbAdd(null, 'vx0', '00:00:00:00:00:00', '192.0.2.2');
    kernel.fdbAdd(null, 'vx0', '00:00:00:00:00:00', '192.0.2.9');
    kernel.fdbAdd(null, 'vx0', '00:00:00:00:00:00', '192.0.2.9'); // appending twice is no error
    assert.equal(kernel.listNeighbours(null, 'vx0').fdb.length, 3);
    kernel.fdbDel(null, 'vx0', '00:00:00:00:00:00', '0.0.0.0');
    assert.deepEqual(kernel.listNeighbours(null, 'vx0').fdb, [{ mac: '02:42:0a:fc:00:03', dst: '192.0.2.2' }]);
    kernel.fdbDel(null, 'vx0', '02:42:0a:fc:00:03', '192.0.2.9'); // another remote: not this entry
    assert.equal(kernel.listNeighbours(null, 'vx0').fdb.length, 1);
    kernel.fdbDel(null, 'vx0', '02:42:0a:fc:00:03', '0.0.0.0');
    assert.deepEqual(kernel.listNeighbours(null, 'vx0').fdb, []);
  });
});
