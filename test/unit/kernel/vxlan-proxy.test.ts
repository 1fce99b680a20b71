// The vxlan ARP proxy flag (IFLA_VXLAN_PROXY) in RTM_NEWLINK. The attribute bytes are those of
// `ip link add vx0 type vxlan id 42 dstport 4789 local 10.1.0.1 nolearning proxy` (iproute2
// 6.1, captured with `strace -xx`: `05000b00 01000000`; iproute2 puts it first, we after
// learning — the kernel reads IFLA_INFO_DATA by type, not by position).
import assert from 'node:assert/strict';
import { endianness } from 'node:os';
import { describe, it } from 'node:test';

import * as C from '../../../src/kernel/netlink/constants.js';
import { decodeAttrs } from '../../../src/kernel/netlink/decode.js';
import { encodeLinkCreate } from '../../../src/kernel/netlink/encode.js';

const hex = (...parts: string[]): string => parts.join('').replace(/\s+/g, '');

/** IFLA_INFO_DATA attributes of an encoded RTM_NEWLINK. */
function vxlanData(message: Buffer): Map<number, Buffer> {
  const top = decodeAttrs(message, C.NLMSG_HDRLEN + C.IFINFOMSG_LEN);
  const linkinfo = top.get(C.IFLA_LINKINFO);
  assert.ok(linkinfo !== undefined, 'no IFLA_LINKINFO');
  const data = decodeAttrs(linkinfo).get(C.IFLA_INFO_DATA);
  assert.ok(data !== undefined, 'no IFLA_INFO_DATA');
  return decodeAttrs(data);
}

const base = { kind: 'vxlan', vni: 42, port: 4789, local: '10.1.0.1', learning: false } as const;

describe('vxlan proxy attribute', { skip: endianness() === 'LE' ? false : 'fixtures are little-endian' }, () => {
  it('proxy on: IFLA_VXLAN_PROXY (11) = 1, as iproute2 sends for `proxy`', () => {
    const bytes = encodeLinkCreate({ name: 'vx0', info: { ...base, proxy: true } });
    assert.equal(C.IFLA_VXLAN_PROXY, 11);
    assert.equal(
      bytes.toString('hex'),
      hex(
        '64000000 1000 0506 00000000 00000000', // 100 bytes, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE
        '00000000 00000000 00000000 00000000',
        '0800 0300 76783000',
        '3c00 1200 0a00 0100 76786c616e00 0000',
        '2c00 0200',
        '0800 0100 2a000000', // IFLA_VXLAN_ID 42
        '0800 0400 0a010001', // IFLA_VXLAN_LOCAL 10.1.0.1
        '0500 0700 00 000000', // IFLA_VXLAN_LEARNING 0
        '0500 0b00 01 000000', // IFLA_VXLAN_PROXY 1
        '0600 0f00 12b5 0000', // IFLA_VXLAN_PORT 4789, network order
      ),
    );
    assert.deepEqual([...(vxlanData(bytes).get(C.IFLA_VXLAN_PROXY) ?? [])], [1]);
  });

  it('proxy off is sent as 0; unset sends nothing (the kernel default, off)', () => {
    assert.deepEqual([...(vxlanData(encodeLinkCreate({ name: 'vx0', info: { ...base, proxy: false } })).get(C.IFLA_VXLAN_PROXY) ?? [])], [0]);
    assert.equal(vxlanData(encodeLinkCreate({ name: 'vx0', info: base })).has(C.IFLA_VXLAN_PROXY), false);
  });
});
