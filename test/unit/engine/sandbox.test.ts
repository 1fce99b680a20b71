import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseGateway, nextIfName, planSandboxSetup, type Attachment } from '../../../src/engine/sandbox.js';
import { hostNameservers, renderHosts, renderResolvConf } from '../../../src/engine/container-files.js';
import type { Endpoint } from '../../../src/model/container.js';
import type { Id64, Network } from '../../../src/model/network.js';

function net(name: string, subnet: string, gateway: string, extra: Partial<Network> = {}): Network {
  return {
    id: name.padEnd(64, '0') as Id64,
    name,
    driver: 'bridge',
    scope: 'local',
    created: '',
    internal: false,
    attachable: false,
    ingress: false,
    enableIPv4: true,
    enableIPv6: false,
    ipamDriver: 'default',
    ipamOptions: {},
    pools: [{ subnet, gateway, gatewayExplicit: false, auxAddresses: {}, fromDefaultPool: true }],
    options: {},
    labels: {},
    predefined: false,
    ...extra,
  };
}

function ep(network: Network, ifName: string, ipv4: string, order: number): Endpoint {
  return { id: `ep-${network.name}` as Id64, networkId: network.id, containerId: 'c', ifName, mac: '02:42:0a:00:00:02', ipv4, aliases: [], links: [], order };
}

describe('sandbox planning', () => {
  const bbb = net('bbb', '10.31.0.0/24', '10.31.0.1');
  const aaa = net('aaa', '10.32.0.0/24', '10.32.0.1');
  const internal = net('000-internal', '10.33.0.0/24', '10.33.0.1', { internal: true });

  it('chooses the gateway endpoint as libnetwork does: by name, internal never', () => {
    const a: Attachment[] = [
      { network: bbb, endpoint: ep(bbb, 'eth0', '10.31.0.2/24', 1) },
      { network: aaa, endpoint: ep(aaa, 'eth1', '10.32.0.2/24', 2) },
      { network: internal, endpoint: ep(internal, 'eth2', '10.33.0.2/24', 3) },
    ];
    assert.equal(chooseGateway(a)?.network.name, 'aaa');
    assert.equal(chooseGateway([a[2] as Attachment]), undefined);
  });

  it('plans netns, lo, veth with its peer in the sandbox, addresses, up, and one default route', () => {
    const a: Attachment[] = [
      { network: bbb, endpoint: ep(bbb, 'eth0', '10.31.0.2/24', 1) },
      { network: aaa, endpoint: ep(aaa, 'eth1', '10.32.0.2/24', 2) },
    ];
    const ops = planSandboxSetup('/run/b/netns/x', a, new Map([['ep-bbb', 'veth1111111'], ['ep-aaa', 'veth2222222']]), { mtu: 1500 });
    assert.deepEqual(ops.map((o) => o.kind), ['netns-add', 'link-set', 'link-add', 'addr-add', 'link-set', 'link-add', 'addr-add', 'link-set', 'route-add']);
    const veth = ops[2];
    assert.ok(veth?.kind === 'link-add' && veth.link.info.kind === 'veth');
    assert.equal(veth.link.name, 'veth1111111');
    assert.equal(veth.link.master, 'br-bbb000000000');
    assert.deepEqual(veth.link.info, { kind: 'veth', peerName: 'eth0', peerNetns: '/run/b/netns/x', peerMac: '02:42:0a:00:00:02', peerMtu: 1500 });
    assert.deepEqual(ops[8], { kind: 'route-add', netns: '/run/b/netns/x', dst: 'default', via: '10.32.0.1', dev: 'eth1' });
  });

  it('never takes the default route from an overlay network: docker_gwbridge gives it', () => {
    // 'aaa' would win by name and by IPv4 gateway if it were a bridge.
    const ov = net('aaa', '10.0.0.0/24', '10.0.0.1', { driver: 'overlay', scope: 'global' });
    const gw = net('docker_gwbridge', '172.18.0.0/16', '172.18.0.1');
    const onOverlay = { network: ov, endpoint: ep(ov, 'eth0', '10.0.0.2/24', 1) };
    const onGw = { network: gw, endpoint: ep(gw, 'eth1', '172.18.0.2/16', 2) };
    assert.equal(chooseGateway([onOverlay, onGw]), onGw);
    assert.equal(chooseGateway([onGw, onOverlay]), onGw);
    assert.equal(chooseGateway([onOverlay]), undefined, 'an overlay alone gives no default route');
    assert.equal(chooseGateway([{ network: { ...ov, driver: 'bridge' }, endpoint: onOverlay.endpoint }, onGw])?.network.name, 'aaa', 'the same as a bridge would');
    const ops = planSandboxSetup('/run/b/netns/o', [onOverlay, onGw], new Map([['ep-aaa', 'veth3333333'], ['ep-docker_gwbridge', 'veth4444444']]), { mtu: 1500 });
    assert.deepEqual(ops.filter((o) => o.kind === 'route-add'), [{ kind: 'route-add', netns: '/run/b/netns/o', dst: 'default', via: '172.18.0.1', dev: 'eth1' }]);
    const overlayVeth = ops.find((o) => o.kind === 'link-add' && o.link.name === 'veth3333333');
    assert.ok(overlayVeth?.kind === 'link-add');
    assert.equal(overlayVeth.link.master, 'ov-aaa000000000');
  });

  it('names interfaces eth0, eth1 … filling gaps', () => {
    assert.equal(nextIfName([]), 'eth0');
    assert.equal(nextIfName([ep(bbb, 'eth0', '', 1), ep(aaa, 'eth2', '', 2)]), 'eth1');
  });
});

describe('container files', () => {
  it('renders /etc/hosts as Docker does, with links and extra hosts', () => {
    const text = renderHosts({
      hostname: 'abc123',
      domainname: '',
      ownAddresses: ['172.17.0.2'],
      extraHosts: [{ name: 'gw', ip: '172.17.0.1' }],
      links: [{ ip: '172.17.0.3', names: ['db', 'target'] }],
    });
    assert.equal(
      text,
      '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\nff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n172.17.0.1\tgw\n172.17.0.3\tdb target\n172.17.0.2\tabc123\n',
    );
  });

  it('points user-network containers at 127.0.0.11 with ndots:0, others at the real servers', () => {
    const host = 'nameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch corp.example\n';
    assert.deepEqual(hostNameservers(host), ['10.0.0.2']);
    assert.equal(
      renderResolvConf({ embedded: true, servers: [], search: [], options: [], hostResolvConf: host }),
      '# Generated by berth.\nnameserver 127.0.0.11\nsearch corp.example\noptions ndots:0\n',
    );
    assert.equal(
      renderResolvConf({ embedded: false, servers: ['192.0.2.53'], search: ['a.example'], options: ['timeout:1'], hostResolvConf: host }),
      '# Generated by berth.\nnameserver 192.0.2.53\nsearch a.example\noptions timeout:1\n',
    );
  });
});
