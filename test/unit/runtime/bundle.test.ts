import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCode } from '../../../src/errors.js';
import {
  clampRlimits,
  DEFAULT_CAPABILITIES,
  defaultCgroupsPath,
  mergeEnv,
  renderOciSpec,
  resolveProcessArgs,
  type OciSpecOptions,
} from '../../../src/runtime/bundle.js';

const BASE: OciSpecOptions = {
  rootfs: '/var/lib/berth/containers/c1/merged',
  args: ['sh', '-c', 'echo hi'],
  env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'FOO=bar'],
  cwd: '/srv',
  hostname: 'c1host',
  network: { kind: 'path', path: '/run/berth/netns/c1' },
  files: {
    hosts: '/var/lib/berth/containers/c1/hosts',
    resolvConf: '/var/lib/berth/containers/c1/resolv.conf',
    hostname: '/var/lib/berth/containers/c1/hostname',
  },
  cgroupsPath: defaultCgroupsPath('c1'),
};

/** The whole config.json for a container on a berth-made netns: reviewed like code. */
const GOLDEN = {
  ociVersion: '1.0.2',
  process: {
    terminal: false,
    user: { uid: 0, gid: 0 },
    args: ['sh', '-c', 'echo hi'],
    env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=c1host', 'FOO=bar'],
    cwd: '/srv',
    capabilities: {
      bounding: [...DEFAULT_CAPABILITIES],
      effective: [...DEFAULT_CAPABILITIES],
      permitted: [...DEFAULT_CAPABILITIES],
    },
    rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1048576, soft: 1048576 }],
    noNewPrivileges: false,
    oomScoreAdj: 0,
  },
  root: { path: '/var/lib/berth/containers/c1/merged', readonly: false },
  hostname: 'c1host',
  mounts: [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/etc/resolv.conf', type: 'bind', source: '/var/lib/berth/containers/c1/resolv.conf', options: ['rbind', 'rprivate'] },
    { destination: '/etc/hostname', type: 'bind', source: '/var/lib/berth/containers/c1/hostname', options: ['rbind', 'rprivate'] },
    { destination: '/etc/hosts', type: 'bind', source: '/var/lib/berth/containers/c1/hosts', options: ['rbind', 'rprivate'] },
  ],
  linux: {
    namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network', path: '/run/berth/netns/c1' }],
    cgroupsPath: 'berth/c1',
    resources: { devices: [{ allow: false, access: 'rwm' }] },
    sysctl: { 'net.ipv4.ip_unprivileged_port_start': '0', 'net.ipv4.ping_group_range': '0 2147483647' },
    maskedPaths: [
      '/proc/asound',
      '/proc/acpi',
      '/proc/kcore',
      '/proc/keys',
      '/proc/latency_stats',
      '/proc/timer_list',
      '/proc/timer_stats',
      '/proc/sched_debug',
      '/proc/scsi',
      '/sys/firmware',
      '/sys/devices/virtual/powercap',
    ],
    readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
  },
};

test('renderOciSpec: golden spec on a berth netns', () => {
  assert.deepEqual(renderOciSpec(BASE), GOLDEN);
  assert.ok(DEFAULT_CAPABILITIES.includes('CAP_NET_RAW'), 'ping needs NET_RAW');
});

test('renderOciSpec: host network shares the daemon netns and sets no net sysctls', () => {
  const spec = renderOciSpec({ ...BASE, network: { kind: 'host' } });
  assert.deepEqual(
    spec.linux.namespaces.map((n) => n.type),
    ['pid', 'ipc', 'uts', 'mount'],
  );
  assert.deepEqual(spec.linux.sysctl, {});
});

test('renderOciSpec: a new netns made by runc has no path', () => {
  const spec = renderOciSpec({ ...BASE, network: { kind: 'new' } });
  assert.deepEqual(spec.linux.namespaces.at(-1), { type: 'network' });
});

test('renderOciSpec: env, cwd, caps, binds, terminal', () => {
  const spec = renderOciSpec({
    ...BASE,
    env: ['PATH=/custom', 'HOSTNAME=override'],
    cwd: '',
    terminal: true,
    capAdd: ['net_admin', 'CAP_SYS_PTRACE', 'NET_RAW'],
    capDrop: ['MKNOD'],
    binds: [
      { source: '/data/b', destination: '/data/b/c', readonly: true },
      { source: '/data', destination: '/data' },
    ],
    files: {},
  });
  assert.deepEqual(spec.process.env, ['PATH=/custom', 'HOSTNAME=override', 'TERM=xterm']);
  assert.equal(spec.process.cwd, '/');
  assert.equal(spec.process.terminal, true);
  const caps = spec.process.capabilities.bounding;
  assert.ok(caps.includes('CAP_NET_ADMIN') && caps.includes('CAP_SYS_PTRACE'));
  assert.ok(!caps.includes('CAP_MKNOD'));
  assert.equal(caps.filter((c) => c === 'CAP_NET_RAW').length, 1);
  assert.deepEqual(
    spec.mounts.slice(7).map((m) => [m.destination, m.options]),
    [
      ['/data', ['rbind', 'rprivate']],
      ['/data/b/c', ['rbind', 'rprivate', 'ro']],
    ],
  );
  assert.deepEqual(renderOciSpec({ ...BASE, capDrop: ['ALL'] }).process.capabilities.effective, []);
});

test('renderOciSpec: invalid input', () => {
  const bad: OciSpecOptions[] = [
    { ...BASE, rootfs: 'relative' },
    { ...BASE, args: [] },
    { ...BASE, network: { kind: 'path', path: 'netns' } },
    { ...BASE, binds: [{ source: '/a', destination: '/etc/hosts' }] },
    { ...BASE, binds: [{ source: 'a', destination: '/a' }] },
    { ...BASE, capAdd: ['NET ADMIN'] },
  ];
  for (const opts of bad) assert.throws(() => renderOciSpec(opts), (e: unknown) => isCode(e, 'ERR_INVALID_PARAMETER'));
});

test('mergeEnv: Docker ReplaceOrAppendEnvValues', () => {
  assert.deepEqual(mergeEnv(['A=1', 'B=2', 'C=3'], ['B=20', 'D=4', 'C']), ['A=1', 'B=20', 'D=4']);
  assert.deepEqual(mergeEnv([], ['X=a=b']), ['X=a=b']);
});

test('resolveProcessArgs: Docker entrypoint/cmd rules', () => {
  const image = { Entrypoint: ['/entry'], Cmd: ['--serve'] };
  assert.deepEqual(resolveProcessArgs(image), ['/entry', '--serve']);
  assert.deepEqual(resolveProcessArgs(image, { cmd: ['x'] }), ['/entry', 'x']);
  assert.deepEqual(resolveProcessArgs(image, { entrypoint: ['sh'] }), ['sh']);
  assert.deepEqual(resolveProcessArgs(image, { entrypoint: [], cmd: ['ls'] }), ['ls']);
  assert.deepEqual(resolveProcessArgs({ Cmd: ['sh'] }), ['sh']);
  assert.throws(() => resolveProcessArgs({}), (e: unknown) => isCode(e, 'ERR_INVALID_PARAMETER'));
});

test('clampRlimits: lowered to the daemon hard limit only when it cannot raise', () => {
  const spec = renderOciSpec(BASE);
  assert.equal(clampRlimits(spec, { RLIMIT_NOFILE: 20000 }, true), spec);
  assert.deepEqual(clampRlimits(spec, { RLIMIT_NOFILE: 20000 }, false).process.rlimits, [
    { type: 'RLIMIT_NOFILE', hard: 20000, soft: 20000 },
  ]);
  assert.deepEqual(clampRlimits(spec, { RLIMIT_NOFILE: Infinity }, false).process.rlimits, spec.process.rlimits);
  assert.deepEqual(spec.process.rlimits, [{ type: 'RLIMIT_NOFILE', hard: 1048576, soft: 1048576 }], 'input untouched');
});
