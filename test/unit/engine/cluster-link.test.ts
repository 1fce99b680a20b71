/**
 * `--cluster-advertise` resolution: an IPv4 address (Docker's `ip:port` form too) or an
 * interface of the daemon's netns, read from a FakeKernel; and what `/info` says of the
 * cluster. The wiring of ClusterLink itself is tested with two hosts in global-networks.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Router } from '../../../src/api/router.js';
import { addSystemRoutes, type SystemInfo } from '../../../src/api/system.js';
import { resolveAdvertise } from '../../../src/engine/cluster-link.js';
import { BerthError } from '../../../src/errors.js';
import { FakeKernel } from '../../../src/kernel/fake-kernel.js';

/** eth0 (IPv6 first, then two IPv4 addresses), eth1 (IPv6 only), lo-less like the FakeKernel. */
function host(): FakeKernel {
  const kernel = new FakeKernel({ hostLinks: [{ name: 'eth0' }, { name: 'eth1' }, { name: 'underlay.7' }] });
  kernel.addrAdd(null, 'eth0', 'fd00:7::7/64');
  kernel.addrAdd(null, 'eth0', '192.0.2.7/24');
  kernel.addrAdd(null, 'eth0', '198.51.100.7/24');
  kernel.addrAdd(null, 'eth1', 'fd00:8::8/64');
  kernel.addrAdd(null, 'underlay.7', '203.0.113.9/24');
  return kernel;
}

function refusal(spec: string, kernel = host()): string {
  try {
    return `no error: ${resolveAdvertise(spec, kernel)}`;
  } catch (err) {
    return err instanceof BerthError ? `${err.code}: ${err.message}` : `other: ${String(err)}`;
  }
}

describe('resolveAdvertise', () => {
  it('takes an IPv4 literal as it is, without reading the kernel', () => {
    assert.equal(resolveAdvertise('192.0.2.55', host()), '192.0.2.55');
    // Not one of the host's addresses: Docker does not check either (NAT, VIPs).
    assert.equal(resolveAdvertise('10.9.8.7', new FakeKernel()), '10.9.8.7');
  });

  it("takes Docker's ip:port form and drops the port (VXLAN is on 4789)", () => {
    assert.equal(resolveAdvertise('192.0.2.55:2376', host()), '192.0.2.55');
    assert.equal(resolveAdvertise('192.0.2.55:0', host()), '192.0.2.55');
  });

  it('takes an interface name (with or without a port): its first IPv4 address', () => {
    assert.equal(resolveAdvertise('eth0', host()), '192.0.2.7');
    assert.equal(resolveAdvertise('eth0:2376', host()), '192.0.2.7');
    assert.equal(resolveAdvertise('underlay.7', host()), '203.0.113.9');
  });

  it('follows the kernel: the address the interface has now', () => {
    const kernel = host();
    kernel.addrDel(null, 'eth0', '192.0.2.7/24');
    assert.equal(resolveAdvertise('eth0', kernel), '198.51.100.7');
  });

  it('refuses IPv6 literals: the VXLAN underlay is IPv4', () => {
    for (const spec of ['fd00::a', 'fd00::1', '2001:db8::1', '::1', '[fd00::1]:2376']) {
      assert.equal(refusal(spec), `ERR_INVALID_PARAMETER: invalid --cluster-advertise ${spec}: berth's VXLAN underlay is IPv4`, spec);
    }
  });

  it('refuses an unknown name, and an interface without IPv4', () => {
    assert.equal(refusal('eth9'), 'ERR_INVALID_PARAMETER: invalid --cluster-advertise eth9: no such address or interface');
    assert.equal(refusal('192.0.2.256'), 'ERR_INVALID_PARAMETER: invalid --cluster-advertise 192.0.2.256: no such address or interface');
    assert.equal(refusal(''), 'ERR_INVALID_PARAMETER: invalid --cluster-advertise : no such address or interface');
    assert.equal(refusal('eth1'), 'ERR_INVALID_PARAMETER: invalid --cluster-advertise eth1: interface eth1 has no IPv4 address');
    assert.equal(refusal('eth1:2376'), 'ERR_INVALID_PARAMETER: invalid --cluster-advertise eth1:2376: interface eth1 has no IPv4 address');
  });
});

describe('/info in a cluster', () => {
  async function info(cluster?: SystemInfo['cluster']): Promise<Record<string, unknown>> {
    const router = new Router();
    addSystemRoutes(router, {
      root: '/var/lib/berth',
      name: 'host-a',
      id: 'ID-A',
      containers: () => ({ total: 0, running: 0, paused: 0, stopped: 0 }),
      images: async () => 0,
      ...(cluster !== undefined ? { cluster } : {}),
    });
    const res = await router.dispatch(
      { method: 'GET', rawPath: '/v1.41/info', query: new URLSearchParams(), body: '', raw: Buffer.alloc(0), headers: {} },
      (err) => assert.fail(String(err)),
    );
    assert.equal(res.status, 200);
    return res.body as Record<string, unknown>;
  }

  it('shows the store and the advertised address, as Docker ≤ 20.10 does', async () => {
    const body = await info({ store: 'etcd://192.0.2.10:2379', advertise: '192.0.2.1' });
    assert.equal(body.ClusterStore, 'etcd://192.0.2.10:2379');
    assert.equal(body.ClusterAdvertise, '192.0.2.1');
    assert.ok((body.Plugins as { Network: string[] }).Network.includes('overlay'));
  });

  it('shows empty strings outside a cluster', async () => {
    const body = await info();
    assert.equal(body.ClusterStore, '');
    assert.equal(body.ClusterAdvertise, '');
  });
});
