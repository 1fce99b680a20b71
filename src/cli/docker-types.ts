/**
 * Docker's Go structs (moby `api/types/network`, as vendored by docker CLI 28.2.2) that
 * `--format` templates and request bodies depend on: field order, Go names, JSON keys and
 * `omitempty`. Field order decides what `{{.IPAM.Config}}` prints
 * (`[{172.18.0.0/16  172.18.0.1 map[]}]`: Subnet, IPRange, Gateway, AuxAddress) and the key
 * order of the JSON bodies the CLI sends (checked against the real CLI's requests).
 *
 * Add a struct here when a command starts printing or sending it; keep Go's field order.
 */
import { type GoField, type StructType, T } from './go-value.js';

const f = (name: string, type: GoField['type'], json = name, omitempty = false): GoField => ({
  name,
  json,
  type,
  omitempty,
});
const STRING_MAP = T.map(T.string);

/** `network.ConfigReference`. */
export const ConfigReference: StructType = T.struct('network.ConfigReference', [f('Network', T.string)]);

/** `network.IPAMConfig`: note the Go field `AuxAddress` is sent as `AuxiliaryAddresses`. */
export const IPAMConfig: StructType = T.struct('network.IPAMConfig', [
  f('Subnet', T.string, 'Subnet', true),
  f('IPRange', T.string, 'IPRange', true),
  f('Gateway', T.string, 'Gateway', true),
  f('AuxAddress', STRING_MAP, 'AuxiliaryAddresses', true),
]);

/** `network.IPAM`. */
export const IPAM: StructType = T.struct('network.IPAM', [
  f('Driver', T.string),
  f('Options', STRING_MAP),
  f('Config', T.slice(IPAMConfig)),
]);

/** `network.EndpointResource`: a container's entry in a network's `Containers`. */
export const EndpointResource: StructType = T.struct('network.EndpointResource', [
  f('Name', T.string),
  f('EndpointID', T.string),
  f('MacAddress', T.string),
  f('IPv4Address', T.string),
  f('IPv6Address', T.string),
]);

/** `network.PeerInfo`. */
export const PeerInfo: StructType = T.struct('network.PeerInfo', [f('Name', T.string), f('IP', T.string)]);

/** `network.Task`. */
export const Task: StructType = T.struct('network.Task', [
  f('Name', T.string),
  f('EndpointID', T.string),
  f('EndpointIP', T.string),
  f('Info', STRING_MAP),
]);

/** `network.ServiceInfo`. */
export const ServiceInfo: StructType = T.struct('network.ServiceInfo', [
  f('VIP', T.string),
  f('Ports', T.slice(T.string)),
  f('LocalLBIndex', T.int),
  f('Tasks', T.slice(Task)),
]);

/** `network.Inspect` — what `GET /networks/{id}` decodes into for `network inspect -f`. */
export const NetworkInspect: StructType = T.struct('network.Inspect', [
  f('Name', T.string),
  f('ID', T.string, 'Id'),
  f('Created', T.time),
  f('Scope', T.string),
  f('Driver', T.string),
  f('EnableIPv4', T.bool),
  f('EnableIPv6', T.bool),
  f('IPAM', IPAM),
  f('Internal', T.bool),
  f('Attachable', T.bool),
  f('Ingress', T.bool),
  f('ConfigFrom', ConfigReference),
  f('ConfigOnly', T.bool),
  f('Containers', T.map(EndpointResource)),
  f('Options', STRING_MAP),
  f('Labels', STRING_MAP),
  f('Peers', T.slice(PeerInfo), 'Peers', true),
  f('Services', T.map(ServiceInfo), 'Services', true),
]);

/** `network.EndpointIPAMConfig`. */
export const EndpointIPAMConfig: StructType = T.struct('network.EndpointIPAMConfig', [
  f('IPv4Address', T.string, 'IPv4Address', true),
  f('IPv6Address', T.string, 'IPv6Address', true),
  f('LinkLocalIPs', T.slice(T.string), 'LinkLocalIPs', true),
]);

/** `network.EndpointSettings` (container inspect `NetworkSettings.Networks.*`, connect body). */
export const EndpointSettings: StructType = T.struct('network.EndpointSettings', [
  f('IPAMConfig', T.ptr(EndpointIPAMConfig)),
  f('Links', T.slice(T.string)),
  f('Aliases', T.slice(T.string)),
  f('MacAddress', T.string),
  f('DriverOpts', STRING_MAP),
  f('GwPriority', T.int),
  f('NetworkID', T.string),
  f('EndpointID', T.string),
  f('Gateway', T.string),
  f('IPAddress', T.string),
  f('IPPrefixLen', T.int),
  f('IPv6Gateway', T.string),
  f('GlobalIPv6Address', T.string),
  f('GlobalIPv6PrefixLen', T.int),
  f('DNSNames', T.slice(T.string)),
]);

/** `network.CreateRequest` — body of `POST /networks/create` (key order as the CLI sends it). */
export const NetworkCreateRequest: StructType = T.struct('network.CreateRequest', [
  f('Driver', T.string),
  f('Scope', T.string),
  f('EnableIPv4', T.ptr(T.bool), 'EnableIPv4', true),
  f('EnableIPv6', T.ptr(T.bool), 'EnableIPv6', true),
  f('IPAM', T.ptr(IPAM)),
  f('Internal', T.bool),
  f('Attachable', T.bool),
  f('Ingress', T.bool),
  f('ConfigOnly', T.bool),
  f('ConfigFrom', T.ptr(ConfigReference)),
  f('Options', STRING_MAP),
  f('Labels', STRING_MAP),
  f('Name', T.string),
]);

/** `network.ConnectOptions` — body of `POST /networks/{id}/connect`. */
export const NetworkConnectRequest: StructType = T.struct('network.ConnectOptions', [
  f('Container', T.string),
  f('EndpointConfig', T.ptr(EndpointSettings), 'EndpointConfig', true),
]);

/** `network.DisconnectOptions` — body of `POST /networks/{id}/disconnect`. */
export const NetworkDisconnectRequest: StructType = T.struct('network.DisconnectOptions', [
  f('Container', T.string),
  f('Force', T.bool),
]);
