/**
 * `-p/--publish` and `--expose` as the docker CLI 28.2.2 reads them: `convertToStandardNotation`
 * (the `target=80,published=8080,protocol=udp` long form) in `cli/command/container/opts.go`,
 * then go-connections v0.5.0's `nat.ParsePortSpecs`, whose quirks are kept because the real
 * CLI has them and scripts rely on its texts:
 *
 * - `ip:hostPort:containerPort/proto`, with the IP possibly IPv6 (`[::1]:8080:80`, or
 *   unbracketed `::1:8080:80`: everything before the last two colons is the IP);
 * - ranges (`8000-8002:80-82` one binding per port, `8000-8010:80` one binding with a host
 *   range), `1-2-3` reading as `1-2` (only the first two parts count), leading zeros allowed;
 * - the protocol after the first `/` (`80/tcp/extra` is `80/tcp`), lowercased, tcp by default;
 * - errors in Go's order: IP, empty port, container port, host port, range mismatch, protocol.
 *
 * Pure; the results are the `ExposedPorts` and `HostConfig.PortBindings` of the create body.
 * Every case in `test/unit/cli/port-specs.test.ts` was checked against the real binary.
 */
import { parseIP } from './go-net.js';

/** One host binding of a container port (`nat.PortBinding`). */
export interface PortBinding {
  readonly HostIp: string;
  readonly HostPort: string;
}

/** The parsed `-p`/`--expose` values: port keys (`80/tcp`) in first-seen order. */
export interface PortSpecs {
  readonly exposed: readonly string[];
  readonly bindings: ReadonlyMap<string, readonly PortBinding[]>;
}

/** `strconv.ParseUint(s, 10, 16)`, returning Go's error text. */
function parseUint16(s: string): number {
  if (!/^[0-9]+$/.test(s)) throw new Error(`strconv.ParseUint: parsing ${JSON.stringify(s)}: invalid syntax`);
  const n = Number(s);
  if (n > 65535) throw new Error(`strconv.ParseUint: parsing ${JSON.stringify(s)}: value out of range`);
  return n;
}

/** `nat.ParsePortRange`: `8000` or `8000-9000`; extra `-parts` are ignored, as in Go. */
export function parsePortRange(ports: string): [number, number] {
  if (ports === '') throw new Error('empty string specified for ports');
  if (!ports.includes('-')) {
    const n = parseUint16(ports);
    return [n, n];
  }
  const parts = ports.split('-');
  const start = parseUint16(parts[0] as string);
  const end = parseUint16(parts[1] as string);
  if (end < start) throw new Error(`invalid range specified for port: ${ports}`);
  return [start, end];
}

/** `nat.SplitProtoPort`: `[proto, port]`, tcp by default, `['', '']` without a port. */
export function splitProtoPort(raw: string): [string, string] {
  const parts = raw.split('/');
  if (raw === '' || (parts[0] as string) === '') return ['', ''];
  if (parts.length === 1) return ['tcp', raw];
  if ((parts[1] as string) === '') return ['tcp', parts[0] as string];
  return [parts[1] as string, parts[0] as string];
}

function splitParts(raw: string): [string, string, string] {
  const parts = raw.split(':');
  const n = parts.length;
  if (n === 1) return ['', '', parts[0] as string];
  if (n === 2) return ['', parts[0] as string, parts[1] as string];
  return [parts.slice(0, n - 2).join(':'), parts[n - 2] as string, parts[n - 1] as string];
}

/** Go's `net.SplitHostPort(ip + ":")` for a bracketed host: the address, or Go's error text. */
function stripBrackets(ip: string): string {
  const hostport = ip + ':';
  const end = hostport.indexOf(']');
  if (end < 0) throw new Error(`invalid IP address ${ip}: address ${hostport}: missing ']' in address`);
  if (end + 1 !== hostport.lastIndexOf(':')) {
    const why = hostport[end + 1] === ':' ? 'too many colons in address' : 'missing port in address';
    throw new Error(`invalid IP address ${ip}: address ${hostport}: ${why}`);
  }
  const host = hostport.slice(1, end);
  if (host.includes('[') || host.includes(']')) {
    throw new Error(`invalid IP address ${ip}: address ${hostport}: unexpected '${host.includes('[') ? '[' : ']'}' in address`);
  }
  return host;
}

/** One `nat.PortMapping`. */
interface PortMapping {
  readonly port: string;
  readonly binding: PortBinding;
}

/** `nat.ParsePortSpec` (go-connections v0.5.0). Throws with the CLI's message. */
export function parsePortSpec(raw: string): PortMapping[] {
  let [ip, hostPort, containerPort] = splitParts(raw);
  const [proto, cPort] = splitProtoPort(containerPort);
  containerPort = cPort;
  if (ip !== '' && ip[0] === '[') ip = stripBrackets(ip);
  if (ip !== '' && parseIP(ip) === null) throw new Error(`invalid IP address: ${ip}`);
  if (containerPort === '') throw new Error(`no port specified: ${raw}<empty>`);
  let start: number;
  let end: number;
  try {
    [start, end] = parsePortRange(containerPort);
  } catch {
    throw new Error(`invalid containerPort: ${containerPort}`);
  }
  let hostStart = 0;
  let hostEnd = 0;
  if (hostPort !== '') {
    try {
      [hostStart, hostEnd] = parsePortRange(hostPort);
    } catch {
      throw new Error(`invalid hostPort: ${hostPort}`);
    }
  }
  if (hostPort !== '' && end - start !== hostEnd - hostStart && end !== start) {
    throw new Error(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
  }
  if (!['tcp', 'udp', 'sctp'].includes(proto.toLowerCase())) throw new Error(`invalid proto: ${proto}`);
  const out: PortMapping[] = [];
  for (let i = 0; i <= end - start; i++) {
    let hp = hostPort === '' ? '' : String(hostStart + i);
    if (start === end && hostStart !== hostEnd) hp = `${hp}-${hostEnd}`;
    out.push({ port: `${start + i}/${proto.toLowerCase()}`, binding: { HostIp: ip, HostPort: hp } });
  }
  return out;
}

/** `convertToStandardNotation`: `target=80,published=8080,protocol=udp` → `8080:80/udp`. */
export function convertToStandardNotation(specs: readonly string[]): string[] {
  return specs.map((publish) => {
    if (!publish.includes('=')) return publish;
    const params = new Map<string, string>([['protocol', 'tcp']]);
    for (const param of publish.split(',')) {
      const eq = param.indexOf('=');
      if (eq <= 0) throw new Error(`invalid publish opts format (should be name=value but got '${param}')`);
      params.set(param.slice(0, eq), param.slice(eq + 1));
    }
    return `${params.get('published') ?? ''}:${params.get('target') ?? ''}/${params.get('protocol') ?? ''}`;
  });
}

/**
 * Parses `-p` values then merges `--expose` values, as `parse()` in the CLI's opts.go does.
 * Throws an Error with the CLI's message (printed as `berth: <message>`, status 125).
 */
export function parsePortFlags(publish: readonly string[], expose: readonly string[]): PortSpecs {
  const exposed: string[] = [];
  const bindings = new Map<string, PortBinding[]>();
  for (const spec of convertToStandardNotation(publish)) {
    for (const m of parsePortSpec(spec)) {
      if (!exposed.includes(m.port)) exposed.push(m.port);
      bindings.set(m.port, [...(bindings.get(m.port) ?? []), m.binding]);
    }
  }
  for (const e of expose) {
    if (e.includes(':')) throw new Error(`invalid port format for --expose: ${e}`);
    const [proto, port] = splitProtoPort(e);
    let start: number;
    let end: number;
    try {
      [start, end] = parsePortRange(port);
    } catch (err) {
      throw new Error(`invalid range format for --expose: ${e}, error: ${(err as Error).message}`);
    }
    for (let i = start; i <= end; i++) {
      const key = `${i}/${proto}`;
      if (!exposed.includes(key)) exposed.push(key);
    }
  }
  return { exposed, bindings };
}
