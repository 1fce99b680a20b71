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

// ---------------------------------------------------------------------------------------------
// Containers (moby `api/types/container`, as vendored by docker CLI 28.2.2)

const STRINGS = T.slice(T.string);
const ANY_SLICE = T.slice(T.any);

/** `nat.PortBinding`. */
export const PortBinding: StructType = T.struct('nat.PortBinding', [f('HostIP', T.string, 'HostIp'), f('HostPort', T.string)]);

/** `container.HealthConfig`. */
export const HealthConfig: StructType = T.struct('container.HealthConfig', [
  f('Test', STRINGS, 'Test', true),
  f('Interval', T.int, 'Interval', true),
  f('Timeout', T.int, 'Timeout', true),
  f('StartPeriod', T.int, 'StartPeriod', true),
  f('StartInterval', T.int, 'StartInterval', true),
  f('Retries', T.int, 'Retries', true),
]);

/**
 * `container.Config`. `MacAddress` is only sent for API < 1.44 (berth's 1.47 puts it on the
 * endpoint), so it stays empty and omitted in create bodies.
 */
export const ContainerConfig: StructType = T.struct('container.Config', [
  f('Hostname', T.string),
  f('Domainname', T.string),
  f('User', T.string),
  f('AttachStdin', T.bool),
  f('AttachStdout', T.bool),
  f('AttachStderr', T.bool),
  f('ExposedPorts', T.map(T.struct('struct {}', [])), 'ExposedPorts', true),
  f('Tty', T.bool),
  f('OpenStdin', T.bool),
  f('StdinOnce', T.bool),
  f('Env', STRINGS),
  f('Cmd', STRINGS),
  f('Healthcheck', T.ptr(HealthConfig), 'Healthcheck', true),
  f('ArgsEscaped', T.bool, 'ArgsEscaped', true),
  f('Image', T.string),
  f('Volumes', T.map(T.struct('struct {}', []))),
  f('WorkingDir', T.string),
  f('Entrypoint', STRINGS),
  f('NetworkDisabled', T.bool, 'NetworkDisabled', true),
  f('MacAddress', T.string, 'MacAddress', true),
  f('OnBuild', STRINGS),
  f('Labels', STRING_MAP),
  f('StopSignal', T.string, 'StopSignal', true),
  f('StopTimeout', T.ptr(T.int), 'StopTimeout', true),
  f('Shell', STRINGS, 'Shell', true),
]);

/** `container.LogConfig`. */
export const LogConfig: StructType = T.struct('container.LogConfig', [f('Type', T.string), f('Config', STRING_MAP)]);

/** `container.RestartPolicy`. */
export const RestartPolicy: StructType = T.struct('container.RestartPolicy', [
  f('Name', T.string),
  f('MaximumRetryCount', T.int),
]);

/** `container.HostConfig` (with `container.Resources` inlined, as Go embeds it). */
export const HostConfig: StructType = T.struct('container.HostConfig', [
  f('Binds', STRINGS),
  f('ContainerIDFile', T.string),
  f('LogConfig', LogConfig),
  f('NetworkMode', T.string),
  f('PortBindings', T.map(T.slice(PortBinding))),
  f('RestartPolicy', RestartPolicy),
  f('AutoRemove', T.bool),
  f('VolumeDriver', T.string),
  f('VolumesFrom', STRINGS),
  f('ConsoleSize', T.slice(T.int)),
  f('Annotations', STRING_MAP, 'Annotations', true),
  f('CapAdd', STRINGS),
  f('CapDrop', STRINGS),
  f('CgroupnsMode', T.string),
  f('DNS', STRINGS, 'Dns'),
  f('DNSOptions', STRINGS, 'DnsOptions'),
  f('DNSSearch', STRINGS, 'DnsSearch'),
  f('ExtraHosts', STRINGS),
  f('GroupAdd', STRINGS),
  f('IpcMode', T.string),
  f('Cgroup', T.string),
  f('Links', STRINGS),
  f('OomScoreAdj', T.int),
  f('PidMode', T.string),
  f('Privileged', T.bool),
  f('PublishAllPorts', T.bool),
  f('ReadonlyRootfs', T.bool),
  f('SecurityOpt', STRINGS),
  f('StorageOpt', STRING_MAP, 'StorageOpt', true),
  f('Tmpfs', STRING_MAP, 'Tmpfs', true),
  f('UTSMode', T.string),
  f('UsernsMode', T.string),
  f('ShmSize', T.int),
  f('Sysctls', STRING_MAP, 'Sysctls', true),
  f('Runtime', T.string, 'Runtime', true),
  f('Isolation', T.string),
  f('CPUShares', T.int, 'CpuShares'),
  f('Memory', T.int),
  f('NanoCPUs', T.int, 'NanoCpus'),
  f('CgroupParent', T.string),
  f('BlkioWeight', T.int),
  f('BlkioWeightDevice', ANY_SLICE),
  f('BlkioDeviceReadBps', ANY_SLICE),
  f('BlkioDeviceWriteBps', ANY_SLICE),
  f('BlkioDeviceReadIOps', ANY_SLICE),
  f('BlkioDeviceWriteIOps', ANY_SLICE),
  f('CPUPeriod', T.int, 'CpuPeriod'),
  f('CPUQuota', T.int, 'CpuQuota'),
  f('CPURealtimePeriod', T.int, 'CpuRealtimePeriod'),
  f('CPURealtimeRuntime', T.int, 'CpuRealtimeRuntime'),
  f('CpusetCpus', T.string),
  f('CpusetMems', T.string),
  f('Devices', ANY_SLICE),
  f('DeviceCgroupRules', STRINGS),
  f('DeviceRequests', ANY_SLICE),
  f('KernelMemory', T.int, 'KernelMemory', true),
  f('KernelMemoryTCP', T.int, 'KernelMemoryTCP', true),
  f('MemoryReservation', T.int),
  f('MemorySwap', T.int),
  f('MemorySwappiness', T.ptr(T.int)),
  f('OomKillDisable', T.ptr(T.bool)),
  f('PidsLimit', T.ptr(T.int)),
  f('Ulimits', ANY_SLICE),
  f('CPUCount', T.int, 'CpuCount'),
  f('CPUPercent', T.int, 'CpuPercent'),
  f('IOMaximumIOps', T.int),
  f('IOMaximumBandwidth', T.int),
  f('Mounts', ANY_SLICE, 'Mounts', true),
  f('MaskedPaths', STRINGS),
  f('ReadonlyPaths', STRINGS),
  f('Init', T.ptr(T.bool), 'Init', true),
]);

/** `network.NetworkingConfig`. */
export const NetworkingConfig: StructType = T.struct('network.NetworkingConfig', [
  f('EndpointsConfig', T.map(T.ptr(EndpointSettings))),
]);

/** `container.CreateRequest` — body of `POST /containers/create` (Config embedded). */
export const ContainerCreateRequest: StructType = T.struct('container.CreateRequest', [
  ...ContainerConfig.fields,
  f('HostConfig', T.ptr(HostConfig), 'HostConfig', true),
  f('NetworkingConfig', T.ptr(NetworkingConfig), 'NetworkingConfig', true),
]);

/** `container.ExecOptions` — body of `POST /containers/{id}/exec`. */
export const ExecCreateRequest: StructType = T.struct('container.ExecOptions', [
  f('User', T.string),
  f('Privileged', T.bool),
  f('Tty', T.bool),
  f('ConsoleSize', T.ptr(T.slice(T.int)), 'ConsoleSize', true),
  f('AttachStdin', T.bool),
  f('AttachStderr', T.bool),
  f('AttachStdout', T.bool),
  f('Detach', T.bool),
  f('DetachKeys', T.string),
  f('Env', STRINGS),
  f('WorkingDir', T.string),
  f('Cmd', STRINGS),
]);

/** `container.ExecStartOptions` — body of `POST /exec/{id}/start`. */
export const ExecStartRequest: StructType = T.struct('container.ExecStartOptions', [
  f('Detach', T.bool),
  f('Tty', T.bool),
  f('ConsoleSize', T.ptr(T.slice(T.int)), 'ConsoleSize', true),
]);

/** `container.State`. */
export const ContainerState: StructType = T.struct('container.State', [
  f('Status', T.string),
  f('Running', T.bool),
  f('Paused', T.bool),
  f('Restarting', T.bool),
  f('OOMKilled', T.bool),
  f('Dead', T.bool),
  f('Pid', T.int),
  f('ExitCode', T.int),
  f('Error', T.string),
  f('StartedAt', T.string),
  f('FinishedAt', T.string),
  f('Health', T.ptr(T.map(T.any)), 'Health', true),
]);

/** `container.NetworkSettings` (with the deprecated top-level bridge fields inlined). */
export const ContainerNetworkSettings: StructType = T.struct('container.NetworkSettings', [
  f('Bridge', T.string),
  f('SandboxID', T.string),
  f('SandboxKey', T.string),
  f('Ports', T.map(T.slice(PortBinding))),
  f('HairpinMode', T.bool),
  f('LinkLocalIPv6Address', T.string),
  f('LinkLocalIPv6PrefixLen', T.int),
  f('SecondaryIPAddresses', ANY_SLICE),
  f('SecondaryIPv6Addresses', ANY_SLICE),
  f('EndpointID', T.string),
  f('Gateway', T.string),
  f('GlobalIPv6Address', T.string),
  f('GlobalIPv6PrefixLen', T.int),
  f('IPAddress', T.string),
  f('IPPrefixLen', T.int),
  f('IPv6Gateway', T.string),
  f('MacAddress', T.string),
  f('Networks', T.map(T.ptr(EndpointSettings))),
]);

/** `container.InspectResponse` — what `docker inspect -f` templates see for a container. */
export const ContainerInspect: StructType = T.struct('container.InspectResponse', [
  f('ID', T.string, 'Id'),
  f('Created', T.string),
  f('Path', T.string),
  f('Args', STRINGS),
  f('State', T.ptr(ContainerState)),
  f('Image', T.string),
  f('ResolvConfPath', T.string),
  f('HostnamePath', T.string),
  f('HostsPath', T.string),
  f('LogPath', T.string),
  f('Node', T.ptr(T.map(T.any)), 'Node', true),
  f('Name', T.string),
  f('RestartCount', T.int),
  f('Driver', T.string),
  f('Platform', T.string),
  f('MountLabel', T.string),
  f('ProcessLabel', T.string),
  f('AppArmorProfile', T.string),
  f('ExecIDs', STRINGS),
  f('HostConfig', T.ptr(HostConfig)),
  f('GraphDriver', T.struct('storage.DriverData', [f('Data', STRING_MAP), f('Name', T.string)])),
  f('SizeRw', T.ptr(T.int), 'SizeRw', true),
  f('SizeRootFs', T.ptr(T.int), 'SizeRootFs', true),
  f('Mounts', ANY_SLICE),
  f('Config', T.ptr(ContainerConfig)),
  f('NetworkSettings', T.ptr(ContainerNetworkSettings)),
]);

/** `image.InspectResponse` (the fields berthd sends). */
export const ImageInspect: StructType = T.struct('image.InspectResponse', [
  f('ID', T.string, 'Id'),
  f('RepoTags', STRINGS),
  f('RepoDigests', STRINGS),
  f('Parent', T.string),
  f('Comment', T.string),
  f('Created', T.string, 'Created', true),
  f('DockerVersion', T.string, 'DockerVersion', true),
  f('Author', T.string, 'Author', true),
  f('Config', T.ptr(ContainerConfig)),
  f('Architecture', T.string),
  f('Variant', T.string, 'Variant', true),
  f('Os', T.string),
  f('OsVersion', T.string, 'OsVersion', true),
  f('Size', T.int),
  f('GraphDriver', T.struct('storage.DriverData', [f('Data', STRING_MAP), f('Name', T.string)])),
  f('RootFS', T.struct('image.RootFS', [f('Type', T.string), f('Layers', STRINGS, 'Layers', true)])),
  f('Metadata', T.struct('image.Metadata', [f('LastTagTime', T.time, 'LastTagTime', true)])),
]);
