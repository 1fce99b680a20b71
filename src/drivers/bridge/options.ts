/**
 * The bridge driver's options: Docker's `-o` keys, parsed once into typed options. Planners
 * never see the free-form map.
 */
import { invalid } from '../../errors.js';
import { parseIfName, type IfName } from '../../model/ifname.js';

export const OPT_BRIDGE_NAME = 'com.docker.network.bridge.name';
export const OPT_ENABLE_ICC = 'com.docker.network.bridge.enable_icc';
export const OPT_ENABLE_IP_MASQUERADE = 'com.docker.network.bridge.enable_ip_masquerade';
export const OPT_HOST_BINDING_IPV4 = 'com.docker.network.bridge.host_binding_ipv4';
export const OPT_DEFAULT_BRIDGE = 'com.docker.network.bridge.default_bridge';
export const OPT_MTU = 'com.docker.network.driver.mtu';

/** Name of the default bridge network's Linux bridge (Docker's docker0). */
export const DEFAULT_BRIDGE_NAME = 'berth0';

/** Typed bridge options. */
export interface BridgeOptions {
  /** The Linux bridge: `br-<12 hex of id>` unless named by option. */
  readonly bridgeName: IfName;
  readonly enableIcc: boolean;
  readonly enableIpMasquerade: boolean;
  /** Default host address for published ports. */
  readonly hostBindingIpv4: string;
  readonly mtu: number;
  readonly defaultBridge: boolean;
}

/** Parses Docker's bridge option keys. Unknown keys are kept in the network but ignored, as Docker does. */
export function parseBridgeOptions(
  networkId: string,
  options: Readonly<Record<string, string>>,
  defaults: { readonly mtu: number },
): BridgeOptions {
  const name = options[OPT_BRIDGE_NAME];
  return {
    bridgeName: parseIfName(name === undefined || name === '' ? `br-${networkId.slice(0, 12)}` : name, 'bridge name'),
    enableIcc: parseBool(options, OPT_ENABLE_ICC, true),
    enableIpMasquerade: parseBool(options, OPT_ENABLE_IP_MASQUERADE, true),
    hostBindingIpv4: parseHostBinding(options[OPT_HOST_BINDING_IPV4]),
    mtu: parseMtu(options[OPT_MTU], defaults.mtu),
    defaultBridge: parseBool(options, OPT_DEFAULT_BRIDGE, false),
  };
}

/** Go's strconv.ParseBool accepts exactly these spellings. */
const TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

function parseBool(options: Readonly<Record<string, string>>, key: string, fallback: boolean): boolean {
  const v = options[key];
  if (v === undefined || v === '') return fallback;
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw invalid(`failed to parse ${key} value: strconv.ParseBool: parsing "${v}": invalid syntax`);
}

function parseHostBinding(v: string | undefined): string {
  if (v === undefined || v === '') return '0.0.0.0';
  if (!/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(v) || v.split('.').some((o) => Number(o) > 255)) {
    throw invalid(`invalid value for ${OPT_HOST_BINDING_IPV4}: "${v}" is not an IPv4 address`);
  }
  return v;
}

export function parseMtu(v: string | undefined, fallback: number): number {
  if (v === undefined || v === '') return fallback;
  if (!/^\d+$/.test(v)) throw invalid(`invalid MTU number: ${v}`);
  const mtu = Number(v);
  // 68 is the IPv4 minimum (RFC 791); 65535 the largest a bridge accepts.
  if (mtu < 68 || mtu > 65535) throw invalid(`invalid MTU number: ${v}`);
  return mtu;
}
