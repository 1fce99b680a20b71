import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BerthError } from '../../../src/errors.js';
import {
  allocatePorts,
  EPHEMERAL_PORT_RANGE,
  parseExposedKey,
  parseHostIp,
  parseHostPort,
  parsePortKey,
  parsePublishSpec,
  portRequestsOf,
  toDockerPortList,
  toDockerPortMap,
  validatePortBinding,
  type AllocationContext,
  type PublishedPort,
} from '../../../src/firewall/ports.js';
import { ZERO_TIME, type Container, type HostConfig } from '../../../src/model/container.js';

/** The error message of `fn`, or 'ok'. */
function message(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return err instanceof BerthError ? err.message : `other: ${String(err)}`;
  }
}

function hostConfig(portBindings: HostConfig['portBindings'], publishAllPorts = false): HostConfig {
  return {
    networkMode: 'bridge',
    portBindings,
    publishAllPorts,
    dns: [],
    dnsSearch: [],
    dnsOptions: [],
    extraHosts: [],
    links: [],
    autoRemove: false,
    restartPolicy: { name: 'no', maximumRetryCount: 0 },
  };
}

const V4: AllocationContext = { defaultHostIps: ['0.0.0.0', '::'], families: new Set([4]), ephemeral: EPHEMERAL_PORT_RANGE, lastEphemeral: EPHEMERAL_PORT_RANGE.end };
const DUAL: AllocationContext = { ...V4, families: new Set([4, 6]) };

describe('parsePublishSpec: the docker CLI\'s -p forms', () => {
  const cases: [string, string][] = [
    ['80', '80/tcp <- :'],
    ['8080:80', '80/tcp <- :8080'],
    ['127.0.0.1:8080:80', '80/tcp <- 127.0.0.1:8080'],
    ['127.0.0.1::80', '80/tcp <- 127.0.0.1:'],
    ['[::1]:8080:80/udp', '80/udp <- ::1:8080'],
    ['[fd00::1]::80', '80/tcp <- fd00::1:'],
    ['8000-8002:80-82/tcp', '80/tcp <- :8000 | 81/tcp <- :8001 | 82/tcp <- :8002'],
    ['8000-8010:80', '80/tcp <- :8000-8010'],
    ['80-81', '80/tcp <- : | 81/tcp <- :'],
    ['5353:53/UDP', '53/udp <- :5353'],
    ['9000:90/sctp', '90/sctp <- :9000'],
  ];
  for (const [spec, want] of cases) {
    it(spec, () => {
      const got = parsePublishSpec(spec)
        .map((e) => `${e.key} <- ${e.binding.hostIp}:${e.binding.hostPort}`)
        .join(' | ');
      assert.equal(got, want);
    });
  }

  const errors: [string, string][] = [
    ['70000:80', 'invalid hostPort: 70000'],
    ['8080:70000', 'invalid containerPort: 70000'],
    ['8080:80/xyz', 'invalid proto: xyz'],
    ['1.2.3:8080:80', 'invalid IP address: 1.2.3'],
    ['8000-8001:80-82', 'invalid ranges specified for container and host Ports: 80-82 and 8000-8001'],
    ['8080:', 'no port specified: 8080:<empty>'],
    ['90-80', 'invalid containerPort: 90-80'],
    ['abc', 'invalid containerPort: abc'],
  ];
  for (const [spec, want] of errors) it(`refuses ${spec}`, () => assert.equal(message(() => parsePublishSpec(spec)), want));
});

describe('create-time validation (dockerd\'s messages)', () => {
  const cases: [() => unknown, string][] = [
    [() => parsePortKey('80/tcp'), 'ok'],
    [() => parsePortKey('80'), 'ok'],
    [() => parsePortKey('80/UDP'), 'ok'],
    [() => parsePortKey('70000/tcp'), 'invalid port specification: "70000"'],
    [() => parsePortKey('0/tcp'), 'invalid port specification: "0"'],
    [() => parsePortKey('80-81/tcp'), 'invalid port specification: "80-81"'],
    [() => parsePortKey('80/icmp'), 'invalid proto: icmp'],
    [() => parseExposedKey('8000-8010/udp'), 'ok'],
    [() => parseExposedKey('8010-8000/udp'), 'invalid port specification: "8010-8000"'],
    [() => parseHostPort('99999'), 'invalid port specification: "99999"'],
    [() => parseHostPort('9-1'), 'invalid port specification: "9-1"'],
    [() => parseHostPort('x'), 'invalid port specification: "x"'],
    [() => parseHostPort(''), 'ok'],
    [() => parseHostPort('0'), 'ok'],
    [() => parseHostIp('300.1.1.1'), 'invalid IP address: 300.1.1.1'],
    [() => validatePortBinding('80/tcp', [{ HostIp: 'nope', HostPort: '80' }]), 'invalid IP address: nope'],
    [() => validatePortBinding('80/tcp', [{ HostIp: null, HostPort: null }]), 'ok'],
  ];
  for (const [fn, want] of cases) it(`${fn.toString().replace(/^\(\) => /, '')}`, () => assert.equal(message(fn), want));

  it('canonicalises host addresses', () => {
    assert.equal(parseHostIp('[FD00:0::1]'), 'fd00::1');
    assert.equal(parseHostIp('0.0.0.0'), '0.0.0.0');
    assert.equal(parseHostIp(''), '');
  });
});

describe('portRequestsOf', () => {
  it('orders by port and protocol; -P adds exposed ports without a binding', () => {
    const reqs = portRequestsOf(
      hostConfig({ '90/tcp': [{ hostIp: '', hostPort: '9090' }], '80/udp': [{ hostIp: '127.0.0.1', hostPort: '8000-8010' }], '80/tcp': [] }, true),
      ['80/tcp', '90/tcp', '100-101/tcp'],
    );
    assert.deepEqual(
      reqs.map((r) => `${r.containerPort}/${r.proto} ${r.hostIp}:${r.hostPorts.start}-${r.hostPorts.end}`),
      ['80/tcp :0-0', '80/udp 127.0.0.1:8000-8010', '90/tcp :9090-9090', '100/tcp :0-0', '101/tcp :0-0'],
    );
  });
  it('without -P, exposed ports are not published', () => {
    assert.deepEqual(portRequestsOf(hostConfig({}), ['80/tcp']), []);
  });
});

describe('allocatePorts', () => {
  const req = (containerPort: number, hostIp: string, start: number, end = start, proto: 'tcp' | 'udp' = 'tcp') => ({
    containerPort,
    proto,
    hostIp,
    hostPorts: { start, end },
  });
  const taken = (hostIp: string, hostPort: number, proto: 'tcp' | 'udp' = 'tcp'): PublishedPort => ({ containerPort: 1, proto, hostIp, hostPort });
  const show = (ps: readonly PublishedPort[]) => ps.map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.proto}`);

  it('default address: 0.0.0.0, and :: too when the container has IPv6, same port on both', () => {
    assert.deepEqual(show(allocatePorts([req(80, '', 8080)], [], V4).ports), ['0.0.0.0:8080->80/tcp']);
    assert.deepEqual(show(allocatePorts([req(80, '', 8080)], [], DUAL).ports), ['0.0.0.0:8080->80/tcp', ':::8080->80/tcp']);
    assert.deepEqual(show(allocatePorts([req(80, '', 0)], [], DUAL).ports), ['0.0.0.0:32768->80/tcp', ':::32768->80/tcp']);
  });

  it('host_binding_ipv4 replaces the default; an IPv6 host address is dropped for an IPv4-only container', () => {
    const ctx = { ...V4, defaultHostIps: ['10.0.0.1'] };
    assert.deepEqual(show(allocatePorts([req(80, '', 8080), req(81, 'fd00::1', 8081)], [], ctx).ports), ['10.0.0.1:8080->80/tcp']);
  });

  it('conflicts: wildcard against everything of its family, an address against itself and the wildcard', () => {
    const cases: [PublishedPort[], ReturnType<typeof req>, string][] = [
      [[taken('0.0.0.0', 8080)], req(80, '', 8080), 'Bind for 0.0.0.0:8080 failed: port is already allocated'],
      [[taken('0.0.0.0', 8080)], req(80, '127.0.0.1', 8080), 'Bind for 127.0.0.1:8080 failed: port is already allocated'],
      [[taken('127.0.0.1', 8080)], req(80, '', 8080), 'Bind for 0.0.0.0:8080 failed: port is already allocated'],
      [[taken('127.0.0.1', 8080)], req(80, '10.0.0.1', 8080), 'ok'],
      [[taken('0.0.0.0', 8080, 'udp')], req(80, '', 8080), 'ok'],
      [[taken('::', 8080)], req(80, '0.0.0.0', 8080), 'ok'],
      [[taken('0.0.0.0', 8000), taken('0.0.0.0', 8001)], req(80, '', 8000, 8001), 'Bind for 0.0.0.0:8000-8001 failed: port is already allocated'],
    ];
    for (const [t, r, want] of cases) assert.equal(message(() => allocatePorts([r], t, V4)), want, JSON.stringify([t, r]));
  });

  it('a container conflicting with itself (overlapping ranges) is refused', () => {
    assert.equal(
      message(() => allocatePorts([req(80, '', 8200), req(81, '', 8201), req(90, '', 8201)], [], V4)),
      'Bind for 0.0.0.0:8201 failed: port is already allocated',
    );
  });

  it('host ranges give the first free port; ephemeral ports go on after the last one, wrapping', () => {
    assert.deepEqual(show(allocatePorts([req(80, '', 9000, 9005)], [taken('0.0.0.0', 9000)], V4).ports), ['0.0.0.0:9001->80/tcp']);
    const small = { ...V4, ephemeral: { start: 100, end: 102 }, lastEphemeral: 101 };
    const a = allocatePorts([req(80, '', 0), req(81, '', 0)], [taken('0.0.0.0', 100)], small);
    assert.deepEqual(show(a.ports), ['0.0.0.0:102->80/tcp', '0.0.0.0:101->81/tcp']);
    assert.equal(a.lastEphemeral, 101);
    assert.equal(message(() => allocatePorts([req(80, '', 0)], [taken('0.0.0.0', 100), taken('0.0.0.0', 101), taken('0.0.0.0', 102)], small)), 'all ports are allocated');
  });

  it('flat cost: the next port after 10,000 taken', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => taken('0.0.0.0', 10_000 + i));
    const t0 = performance.now();
    const a = allocatePorts([req(80, '', 20_000)], many, V4);
    assert.deepEqual(show(a.ports), ['0.0.0.0:20000->80/tcp']);
    assert.ok(performance.now() - t0 < 500);
  });
});

describe('Docker\'s JSON for published ports', () => {
  const c = (status: 'running' | 'exited'): Container => ({
    id: 'a'.repeat(64) as Container['id'],
    name: 'web',
    created: ZERO_TIME,
    config: {
      image: 'busybox',
      imageId: 'sha256:x',
      cmd: [],
      entrypoint: null,
      env: [],
      workingDir: '',
      user: '',
      tty: false,
      openStdin: false,
      hostname: 'h',
      domainname: '',
      labels: {},
      exposedPorts: ['443/tcp', '90-91/udp'],
    },
    hostConfig: hostConfig({ '80/tcp': [{ hostIp: '', hostPort: '8080' }] }),
    state: { status, pid: 1, exitCode: 0, error: '', startedAt: ZERO_TIME, finishedAt: ZERO_TIME },
    restartCount: 0,
  });
  const published: PublishedPort[] = [
    { containerPort: 80, proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080 },
    { containerPort: 80, proto: 'tcp', hostIp: '::', hostPort: 8080 },
  ];

  it('NetworkSettings.Ports: exposed ports as null, bindings in order, sorted keys; empty when not running', () => {
    assert.deepEqual(toDockerPortMap(c('running'), published), {
      '443/tcp': null,
      '80/tcp': [
        { HostIp: '0.0.0.0', HostPort: '8080' },
        { HostIp: '::', HostPort: '8080' },
      ],
      '90/udp': null,
      '91/udp': null,
    });
    assert.equal(JSON.stringify(Object.keys(toDockerPortMap(c('running'), published))), '["443/tcp","80/tcp","90/udp","91/udp"]');
    assert.deepEqual(toDockerPortMap(c('exited'), published), {});
  });

  it('list Ports: bindings, then exposed ports without one', () => {
    assert.deepEqual(toDockerPortList(c('running'), published), [
      { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
      { IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
      { PrivatePort: 443, Type: 'tcp' },
      { PrivatePort: 90, Type: 'udp' },
      { PrivatePort: 91, Type: 'udp' },
    ]);
    assert.deepEqual(toDockerPortList(c('exited'), published), []);
  });
});
