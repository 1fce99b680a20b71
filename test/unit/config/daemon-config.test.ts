/**
 * berthd's flags: the cluster ones (`--cluster-store`, `--cluster-advertise`,
 * `--cluster-store-opt discovery.ttl=N`) and the defaults around them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DAEMON_USAGE, parseDaemonArgs, type DaemonConfig } from '../../../src/config/daemon-config.js';
import { BerthError } from '../../../src/errors.js';

const STORE = ['--cluster-store', 'etcd://192.0.2.10:2379', '--cluster-advertise', 'eth0'];

function config(argv: readonly string[]): DaemonConfig {
  const r = parseDaemonArgs(argv);
  assert.equal(r.kind, 'run');
  return r.config;
}

/** `CODE: message` of what parseDaemonArgs throws, or 'no error'. */
function refusal(argv: readonly string[]): string {
  try {
    parseDaemonArgs(argv);
    return 'no error';
  } catch (err) {
    return err instanceof BerthError ? `${err.code}: ${err.message}` : `other: ${String(err)}`;
  }
}

describe('parseDaemonArgs: cluster flags', () => {
  it('outside a cluster: no store, no advertise, the default TTL of 20 s', () => {
    const c = config([]);
    assert.equal(c.clusterStore, undefined);
    assert.equal(c.clusterAdvertise, undefined);
    assert.equal(c.clusterTtl, 20);
    assert.ok(Object.isFrozen(c));
  });

  it('takes the store, the advertised address and the default TTL', () => {
    const c = config(STORE);
    assert.equal(c.clusterStore, 'etcd://192.0.2.10:2379');
    assert.equal(c.clusterAdvertise, 'eth0');
    assert.equal(c.clusterTtl, 20);
  });

  it('takes discovery.ttl in seconds, with or without the s suffix; the last one wins', () => {
    assert.equal(config([...STORE, '--cluster-store-opt', 'discovery.ttl=5']).clusterTtl, 5);
    assert.equal(config([...STORE, '--cluster-store-opt', 'discovery.ttl=5s']).clusterTtl, 5);
    assert.equal(config([...STORE, '--cluster-store-opt=discovery.ttl=2']).clusterTtl, 2, 'the lower bound');
    assert.equal(config([...STORE, '--cluster-store-opt', 'discovery.ttl=3600']).clusterTtl, 3600, 'the upper bound');
    assert.equal(
      config([...STORE, '--cluster-store-opt', 'discovery.ttl=5', '--cluster-store-opt', 'discovery.ttl=30']).clusterTtl,
      30,
    );
  });

  it('refuses unknown keys and values that are not whole seconds, naming the option', () => {
    const cases: [string, string][] = [
      ['kv.cacertfile=/x', 'ERR_INVALID_PARAMETER: invalid --cluster-store-opt kv.cacertfile=/x: berth knows discovery.ttl=<seconds>'],
      ['discovery.heartbeat=5', 'ERR_INVALID_PARAMETER: invalid --cluster-store-opt discovery.heartbeat=5: berth knows discovery.ttl=<seconds>'],
      ['discovery.ttl', 'ERR_INVALID_PARAMETER: invalid --cluster-store-opt discovery.ttl: discovery.ttl wants whole seconds'],
      ['discovery.ttl=', 'ERR_INVALID_PARAMETER: invalid --cluster-store-opt discovery.ttl=: discovery.ttl wants whole seconds'],
      ['discovery.ttl=abc', 'ERR_INVALID_PARAMETER: invalid --cluster-store-opt discovery.ttl=abc: discovery.ttl wants whole seconds'],
      ['discovery.ttl=1.5', 'ERR_INVALID_PARAMETER: invalid --cluster-store-opt discovery.ttl=1.5: discovery.ttl wants whole seconds'],
      ['discovery.ttl=-5', 'ERR_INVALID_PARAMETER: invalid --cluster-store-opt discovery.ttl=-5: discovery.ttl wants whole seconds'],
      ['discovery.ttl=5m', 'ERR_INVALID_PARAMETER: invalid --cluster-store-opt discovery.ttl=5m: discovery.ttl wants whole seconds'],
    ];
    for (const [opt, want] of cases) assert.equal(refusal([...STORE, '--cluster-store-opt', opt]), want, opt);
  });

  it('refuses a TTL outside 2…3600 s', () => {
    assert.equal(
      refusal([...STORE, '--cluster-store-opt', 'discovery.ttl=1']),
      'ERR_INVALID_PARAMETER: invalid --cluster-store-opt discovery.ttl=1: discovery.ttl must be 2 to 3600 seconds',
    );
    assert.match(refusal([...STORE, '--cluster-store-opt', 'discovery.ttl=0s']), /^ERR_INVALID_PARAMETER: invalid --cluster-store-opt discovery.ttl=0s: discovery.ttl must be 2 to 3600 seconds$/);
    assert.match(refusal([...STORE, '--cluster-store-opt', 'discovery.ttl=3601']), /discovery.ttl must be 2 to 3600 seconds$/);
    assert.equal(refusal(['--cluster-store-opt', 'discovery.ttl=5']), 'ERR_INVALID_PARAMETER: --cluster-store-opt needs --cluster-store');
  });

  it('wants --cluster-store and --cluster-advertise together', () => {
    const want = 'ERR_INVALID_PARAMETER: --cluster-store and --cluster-advertise go together';
    assert.equal(refusal(['--cluster-store', 'etcd://192.0.2.10:2379']), want);
    assert.equal(refusal(['--cluster-advertise', '192.0.2.1']), want);
    assert.equal(refusal(['--cluster-store', 'etcd://192.0.2.10:2379', '--cluster-store-opt', 'discovery.ttl=5']), want);
  });

  it('lists --cluster-store-opt in the usage', () => {
    assert.match(DAEMON_USAGE, /--cluster-store-opt map\s+Cluster store options: discovery\.ttl=<seconds> \(default 20\)/);
  });
});
