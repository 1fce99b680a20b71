/**
 * The overlay driver's options and names: Docker's `-o` keys, parsed once, and the names of a
 * network's two links, derived from its id alone so every host of the cluster picks the same
 * ones and removal needs nothing but the id. Unknown keys are kept in the network and ignored,
 * as Docker does (and as the bridge driver does).
 */
import { BerthError, invalid } from '../../errors.js';
import type { Network } from '../../model/network.js';
import { OPT_MTU, parseMtu } from '../bridge/options.js';

export { OPT_MTU };
/** Docker's key for the VXLAN network identifier (a list there, one per subnet; one here). */
export const OPT_VXLANID_LIST = 'com.docker.network.driver.overlay.vxlanid_list';
/** `-o encrypted`: Docker's IPsec-encrypted overlay. Its presence asks for it, whatever the value. */
export const OPT_ENCRYPTED = 'encrypted';

/** VXLAN's 50 bytes of headers (outer IPv4 20, UDP 8, VXLAN 8, inner Ethernet 14) on a 1500 underlay: Docker's overlay default. */
export const OVERLAY_DEFAULT_MTU = 1450;
/** The IANA VXLAN port (RFC 7348), Docker's data port. */
export const VXLAN_PORT = 4789;
/** VNIs are 24 bits; 0 is not used. */
export const MAX_VNI = 0xffffff;

/** The network's Linux bridge: `ov-<12 hex of id>`. */
export function overlayBridgeName(networkId: string): string {
  return `ov-${networkId.slice(0, 12)}`;
}

/** The network's VXLAN device: `vx-<12 hex of id>`. */
export function overlayVxlanName(networkId: string): string {
  return `vx-${networkId.slice(0, 12)}`;
}

/** The network's VNI; throws ERR_INVALID_PARAMETER when the option is missing or malformed. */
export function overlayVni(network: Network): number {
  const vni = parseVni(network.options[OPT_VXLANID_LIST]);
  if (vni === undefined) throw invalid(`overlay network ${network.id} has no VXLAN ID (-o ${OPT_VXLANID_LIST})`);
  return vni;
}

/** `-o com.docker.network.driver.mtu`, else 1450 (not the daemon's --mtu, which is the underlay's). */
export function overlayMtu(network: Network): number {
  return parseMtu(network.options[OPT_MTU], OVERLAY_DEFAULT_MTU);
}

/**
 * Checks what can be checked of an overlay network's options on the creating host. The VNI is
 * checked only when present: the cluster picks it after `validate`.
 */
export function checkOverlayOptions(network: Network): void {
  if (OPT_ENCRYPTED in network.options) {
    throw new BerthError('ERR_DRIVER_UNSUPPORTED', 'encrypted overlay networks need IPsec ESP, which this kernel lacks');
  }
  if (network.enableIPv6 || network.pools.some((p) => p.subnet.includes(':'))) {
    throw invalid('berth overlay networks are IPv4-only');
  }
  parseVni(network.options[OPT_VXLANID_LIST]);
  overlayMtu(network);
}

/** undefined when absent; one decimal VNI from 1 to 16777215, else ERR_INVALID_PARAMETER. */
function parseVni(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const vni = /^\d{1,8}$/.test(v) ? Number(v) : NaN;
  if (!(vni >= 1 && vni <= MAX_VNI)) {
    throw invalid(`invalid ${OPT_VXLANID_LIST} "${v}": one VXLAN ID from 1 to ${MAX_VNI} (berth gives a network one VNI)`);
  }
  return vni;
}
