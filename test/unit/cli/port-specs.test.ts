/**
 * `-p/--publish` and `--expose` parsing, table-driven. Every row — the ports docker exposes,
 * the bindings it sends, or its error text — was produced by the real docker CLI 28.2.2
 * (`docker create -p <value> busybox` against a recording fake daemon).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePortFlags } from '../../../src/cli/port-specs.js';

type Binding = { HostIp: string; HostPort: string };
type Row = readonly [string, string] | readonly [string, readonly string[], Readonly<Record<string, readonly Binding[]>>];

const PUBLISH: readonly Row[] = [
  ["80", ["80/tcp"], {"80/tcp":[{"HostIp":"","HostPort":""}]}],
  ["8080:80", ["80/tcp"], {"80/tcp":[{"HostIp":"","HostPort":"8080"}]}],
  ["127.0.0.1:8080:80", ["80/tcp"], {"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"}]}],
  ["127.0.0.1::80", ["80/tcp"], {"80/tcp":[{"HostIp":"127.0.0.1","HostPort":""}]}],
  ["[::1]:8080:80", ["80/tcp"], {"80/tcp":[{"HostIp":"::1","HostPort":"8080"}]}],
  ["::1:8080:80", ["80/tcp"], {"80/tcp":[{"HostIp":"::1","HostPort":"8080"}]}],
  ["8000-8002:80-82", ["80/tcp","81/tcp","82/tcp"], {"80/tcp":[{"HostIp":"","HostPort":"8000"}],"81/tcp":[{"HostIp":"","HostPort":"8001"}],"82/tcp":[{"HostIp":"","HostPort":"8002"}]}],
  ["8000-8010:80", ["80/tcp"], {"80/tcp":[{"HostIp":"","HostPort":"8000-8010"}]}],
  ["80-82", ["80/tcp","81/tcp","82/tcp"], {"80/tcp":[{"HostIp":"","HostPort":""}],"81/tcp":[{"HostIp":"","HostPort":""}],"82/tcp":[{"HostIp":"","HostPort":""}]}],
  ["53/udp", ["53/udp"], {"53/udp":[{"HostIp":"","HostPort":""}]}],
  ["8080:80/UDP", ["80/udp"], {"80/udp":[{"HostIp":"","HostPort":"8080"}]}],
  ["80/sctp", ["80/sctp"], {"80/sctp":[{"HostIp":"","HostPort":""}]}],
  ["0.0.0.0:80:80/tcp", ["80/tcp"], {"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"80"}]}],
  [":80", ["80/tcp"], {"80/tcp":[{"HostIp":"","HostPort":""}]}],
  ["1.2.3.4:80", "invalid hostPort: 1.2.3.4"],
  ["target=80,published=8080", ["80/tcp"], {"80/tcp":[{"HostIp":"","HostPort":"8080"}]}],
  ["target=80,published=8080,protocol=udp", ["80/udp"], {"80/udp":[{"HostIp":"","HostPort":"8080"}]}],
  ["published=8080", "no port specified: 8080:/tcp<empty>"],
  ["[::]:80:80", ["80/tcp"], {"80/tcp":[{"HostIp":"::","HostPort":"80"}]}],
  ["[2001:db8::1]::80", ["80/tcp"], {"80/tcp":[{"HostIp":"2001:db8::1","HostPort":""}]}],
  ["8080:80/tcp/extra", ["80/tcp"], {"80/tcp":[{"HostIp":"","HostPort":"8080"}]}],
  ["80/", ["80/tcp"], {"80/tcp":[{"HostIp":"","HostPort":""}]}],
  ["", "no port specified: <empty>"],
  [":", "no port specified: :<empty>"],
  ["abc", "invalid containerPort: abc"],
  ["8080:abc", "invalid containerPort: abc"],
  ["abc:80", "invalid hostPort: abc"],
  ["80/icmp", "invalid proto: icmp"],
  ["1.2.3:80:80", "invalid IP address: 1.2.3"],
  ["[::1:80:80", "invalid IP address [::1: address [::1:: missing ']' in address"],
  ["80-79", "invalid containerPort: 80-79"],
  ["8000-8001:80-82", "invalid ranges specified for container and host Ports: 80-82 and 8000-8001"],
  ["99999", "invalid containerPort: 99999"],
  ["0", ["0/tcp"], {"0/tcp":[{"HostIp":"","HostPort":""}]}],
  ["-1", "invalid containerPort: -1"],
  ["80-", "invalid containerPort: 80-"],
  ["target=80,foo", "invalid publish opts format (should be name=value but got 'foo')"],
  ["a:b:c:d", "invalid IP address: a:b"],
  ["1-2-3", ["1/tcp","2/tcp"], {"1/tcp":[{"HostIp":"","HostPort":""}],"2/tcp":[{"HostIp":"","HostPort":""}]}],
  ["/udp", "no port specified: /udp<empty>"],
  ["80:80:80:80", "invalid IP address: 80:80"],
  ["8080:80,9090:90", "invalid IP address: 8080"],
  [" 80", "invalid containerPort:  80"],
  ["0x50", "invalid containerPort: 0x50"],
  ["080", ["80/tcp"], {"80/tcp":[{"HostIp":"","HostPort":""}]}],
  ["65535", ["65535/tcp"], {"65535/tcp":[{"HostIp":"","HostPort":""}]}],
  ["65536", "invalid containerPort: 65536"],
  ['abc/icmp', 'invalid containerPort: abc'],
  ['80/ICMP', 'invalid proto: ICMP'],
  ['1.2.3:abc:80', 'invalid IP address: 1.2.3'],
  ['1.2.3::', 'invalid IP address: 1.2.3'],
  ['[::1]:abc:80/icmp', 'invalid hostPort: abc'],
  ['8000-8001:80/icmp', 'invalid proto: icmp'],
  ['=', "invalid publish opts format (should be name=value but got '=')"],
  ['target=80', ['80/tcp'], { '80/tcp': [{ HostIp: '', HostPort: '' }] }],
  ['protocol=udp,target=53', ['53/udp'], { '53/udp': [{ HostIp: '', HostPort: '' }] }],
  ['published=,target=80', ['80/tcp'], { '80/tcp': [{ HostIp: '', HostPort: '' }] }],
];

const EXPOSE: readonly (readonly [string, string | readonly string[]])[] = [
  ['80', ['80/tcp']],
  ['80/udp', ['80/udp']],
  ['80-82', ['80/tcp', '81/tcp', '82/tcp']],
  ['80:81', 'invalid port format for --expose: 80:81'],
  ['abc', 'invalid range format for --expose: abc, error: strconv.ParseUint: parsing "abc": invalid syntax'],
  ['80-79', 'invalid range format for --expose: 80-79, error: invalid range specified for port: 80-79'],
  ['/udp', 'invalid range format for --expose: /udp, error: empty string specified for ports'],
  ['', 'invalid range format for --expose: , error: empty string specified for ports'],
  ['80/icmp', ['80/icmp']],
  ['80-82/udp', ['80/udp', '81/udp', '82/udp']],
  ['1-2-3', ['1/tcp', '2/tcp']],
  ['99999', 'invalid range format for --expose: 99999, error: strconv.ParseUint: parsing "99999": value out of range'],
];

describe('-p/--publish', () => {
  for (const row of PUBLISH) {
    const [value] = row;
    it(`-p ${JSON.stringify(value)}`, () => {
      if (row.length === 2) {
        assert.throws(() => parsePortFlags([value], []), { message: row[1] });
        return;
      }
      const got = parsePortFlags([value], []);
      assert.deepEqual([...got.exposed].sort(), [...row[1]].sort());
      assert.deepEqual(Object.fromEntries(got.bindings), row[2]);
    });
  }

  it('several -p values for one port collect their bindings in order', () => {
    const got = parsePortFlags(['8080:80', '[::1]:8081:80', '53:53/udp'], []);
    assert.deepEqual(Object.fromEntries(got.bindings), {
      '80/tcp': [
        { HostIp: '', HostPort: '8080' },
        { HostIp: '::1', HostPort: '8081' },
      ],
      '53/udp': [{ HostIp: '', HostPort: '53' }],
    });
  });
});

describe('--expose', () => {
  for (const [value, want] of EXPOSE) {
    it(`--expose ${JSON.stringify(value)}`, () => {
      if (typeof want === 'string') {
        assert.throws(() => parsePortFlags([], [value]), { message: want });
        return;
      }
      const got = parsePortFlags([], [value]);
      assert.deepEqual(got.exposed, want);
      assert.equal(got.bindings.size, 0);
    });
  }

  it('merges with published ports without duplicates', () => {
    assert.deepEqual(parsePortFlags(['80'], ['80', '81']).exposed, ['80/tcp', '81/tcp']);
  });
});
