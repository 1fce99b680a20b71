/**
 * `/networks` routes of the Engine API, and the mapping of berth's Network to Docker's JSON
 * (moby `buildNetworkResource` / `buildIPAMResources`).
 */
import * as v from 'valibot';
import { jsonObject, parseBody, StringMap } from './body.js';
import { compareVersions, type Router } from './router.js';
import { NETWORK_LIST_FILTERS, NETWORK_PRUNE_FILTERS, type NetworkController } from '../engine/networks.js';
import { parseFilters } from '../engine/filters.js';
import type { IpamPool, Network } from '../model/network.js';

/** Body of `POST /networks/create` (moby `network.CreateRequest`). */
const CreateBody = jsonObject({
  Name: v.string(),
  CheckDuplicate: v.nullish(v.boolean()),
  Driver: v.nullish(v.string()),
  Scope: v.nullish(v.string()),
  EnableIPv4: v.nullish(v.boolean()),
  EnableIPv6: v.nullish(v.boolean()),
  IPAM: v.nullish(
    jsonObject({
      Driver: v.nullish(v.string()),
      Options: StringMap,
      Config: v.nullish(
        v.array(
          jsonObject({
            Subnet: v.nullish(v.string()),
            IPRange: v.nullish(v.string()),
            Gateway: v.nullish(v.string()),
            AuxiliaryAddresses: StringMap,
          }),
        ),
      ),
    }),
  ),
  Internal: v.nullish(v.boolean()),
  Attachable: v.nullish(v.boolean()),
  Ingress: v.nullish(v.boolean()),
  ConfigOnly: v.nullish(v.boolean()),
  Options: StringMap,
  Labels: StringMap,
});

/** Body of connect/disconnect, parsed here so the container layer gets typed input. */
export const ConnectBody = jsonObject({
  Container: v.string(),
  EndpointConfig: v.nullish(
    jsonObject({
      IPAMConfig: v.nullish(
        jsonObject({
          IPv4Address: v.nullish(v.string()),
          IPv6Address: v.nullish(v.string()),
          LinkLocalIPs: v.nullish(v.array(v.string())),
        }),
      ),
      Links: v.nullish(v.array(v.string())),
      Aliases: v.nullish(v.array(v.string())),
      MacAddress: v.nullish(v.string()),
      DriverOpts: StringMap,
      DNSNames: v.nullish(v.array(v.string())),
    }),
  ),
});
export const DisconnectBody = jsonObject({ Container: v.string(), Force: v.nullish(v.boolean()) });

/** Docker's `IPAMConfig` for one pool: requested fields as given, defaults as allocated. */
function toDockerIpamConfig(p: IpamPool): Record<string, unknown> {
  if (p.fromDefaultPool) return { Subnet: p.subnet, Gateway: p.gateway };
  const out: Record<string, unknown> = { Subnet: p.subnet };
  if (p.ipRange !== undefined) out['IPRange'] = p.ipRange;
  if (p.gatewayExplicit) out['Gateway'] = p.gateway;
  if (Object.keys(p.auxAddresses).length > 0) out['AuxiliaryAddresses'] = p.auxAddresses;
  return out;
}

/** Docker's `network.Inspect` for a network and the endpoints on it. */
export function toDockerNetwork(n: Network, containers: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
  return {
    Name: n.name,
    Id: n.id,
    Created: n.created,
    Scope: n.scope,
    Driver: n.driver,
    EnableIPv4: n.enableIPv4,
    EnableIPv6: n.enableIPv6,
    IPAM: {
      Driver: n.ipamDriver,
      Options: n.predefined ? null : n.ipamOptions,
      Config: n.pools.length === 0 ? null : n.pools.map(toDockerIpamConfig),
    },
    Internal: n.internal,
    Attachable: n.attachable,
    Ingress: n.ingress,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: n.options,
    Labels: n.labels,
  };
}

/** Supplies the `Containers` map of a network's inspect output. */
export type ContainersOf = (networkId: string) => Record<string, unknown>;

/** Registers the network routes. */
export function addNetworkRoutes(
  router: Router,
  networks: NetworkController,
  containersOf: ContainersOf = () => ({}),
  connect?: {
    connect(networkTerm: string, body: v.InferOutput<typeof ConnectBody>): Promise<void>;
    disconnect(networkTerm: string, body: v.InferOutput<typeof DisconnectBody>): Promise<void>;
  },
): void {
  router.add('GET', '/networks', (req) => {
    const filters = parseFilters(req.query.get('filters'), NETWORK_LIST_FILTERS);
    return { status: 200, body: networks.list(filters).map((n) => toDockerNetwork(n, {})) };
  });

  router.add('GET', '/networks/{id}', (req) => {
    const n = networks.find(req.params['id'] ?? '');
    return { status: 200, body: toDockerNetwork(n, containersOf(n.id)) };
  });

  router.add('POST', '/networks/create', async (req) => {
    const b = parseBody(CreateBody, req.body);
    const n = await networks.create({
      name: b.Name,
      driver: b.Driver ?? undefined,
      scope: b.Scope ?? undefined,
      internal: b.Internal ?? undefined,
      attachable: b.Attachable ?? undefined,
      ingress: b.Ingress ?? undefined,
      configOnly: b.ConfigOnly ?? undefined,
      // EnableIPv4 exists from API 1.48 on; older clients never mean to turn IPv4 off.
      enableIPv4: compareVersions(req.version, '1.48') >= 0 ? (b.EnableIPv4 ?? undefined) : undefined,
      enableIPv6: b.EnableIPv6 ?? undefined,
      ipamDriver: b.IPAM?.Driver ?? undefined,
      ipamOptions: b.IPAM?.Options ?? undefined,
      pools: (b.IPAM?.Config ?? []).map((c) => ({
        subnet: c.Subnet || undefined,
        ipRange: c.IPRange || undefined,
        gateway: c.Gateway || undefined,
        auxAddresses: c.AuxiliaryAddresses ?? undefined,
      })),
      options: b.Options ?? undefined,
      labels: b.Labels ?? undefined,
    });
    return { status: 201, body: { Id: n.id, Warning: '' } };
  });

  router.add('DELETE', '/networks/{id}', async (req) => {
    await networks.remove(req.params['id'] ?? '');
    return { status: 204 };
  });

  router.add('POST', '/networks/prune', async (req) => {
    const filters = parseFilters(req.query.get('filters'), NETWORK_PRUNE_FILTERS);
    const deleted = await networks.prune(filters);
    return { status: 200, body: { NetworksDeleted: deleted } };
  });

  router.add('POST', '/networks/{id}/connect', async (req) => {
    const body = parseBody(ConnectBody, req.body);
    if (connect === undefined) return notYet();
    await connect.connect(req.params['id'] ?? '', body);
    return { status: 200 };
  });

  router.add('POST', '/networks/{id}/disconnect', async (req) => {
    const body = parseBody(DisconnectBody, req.body);
    if (connect === undefined) return notYet();
    await connect.disconnect(req.params['id'] ?? '', body);
    return { status: 200 };
  });
}

function notYet() {
  return { status: 501, body: { message: 'containers are not available in this berthd' } };
}
