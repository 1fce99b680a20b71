/**
 * The key layout of berth's cluster store, in one place: builders for every key the cluster
 * service writes under {@link KEY_ROOT}, and the parser the watch uses to route events.
 *
 * ```
 * hosts/<hostId>                    {"advertise","since","subnets"}   host lease
 * networks/<networkId>              Network JSON (scope global)
 * names/<name>                      networkId      cluster-wide name uniqueness
 * vni/<vni>                         networkId      VXLAN ID uniqueness
 * pools/<subnet, '/' → '_'>         networkId      subnet uniqueness
 * poolgen                           (any)          re-put by every pool claim/release: its mod
 *                                                  revision guards "pools unchanged since I read"
 * netgen/<networkId>                ''             re-put by every address claim: its mod revision
 *                                                  guards "no claim since I read" for a removal
 * addrs/<networkId>/<ip>            {"endpointId","containerName","hostId"}   host lease
 * endpoints/<networkId>/<endpointId> AnnouncedEndpoint JSON                   host lease
 * ```
 *
 * Every variable segment is checked to hold no '/', so a key parses back to what built it.
 */
import { BerthError } from '../errors.js';
import { KEY_ROOT } from './types.js';

export const HOSTS_PREFIX = `${KEY_ROOT}hosts/`;
export const NETWORKS_PREFIX = `${KEY_ROOT}networks/`;
export const NAMES_PREFIX = `${KEY_ROOT}names/`;
export const VNI_PREFIX = `${KEY_ROOT}vni/`;
export const POOLS_PREFIX = `${KEY_ROOT}pools/`;
export const POOLGEN_KEY = `${KEY_ROOT}poolgen`;
export const NETGEN_PREFIX = `${KEY_ROOT}netgen/`;
export const ADDRS_PREFIX = `${KEY_ROOT}addrs/`;
export const ENDPOINTS_PREFIX = `${KEY_ROOT}endpoints/`;

/** One path segment: non-empty and without '/', else the key would parse back wrong. */
function segment(what: string, text: string): string {
  if (text === '' || text.includes('/')) {
    throw new BerthError('ERR_INTERNAL', `cluster key: ${what} ${JSON.stringify(text)} is empty or contains '/'`);
  }
  return text;
}

export function hostKey(hostId: string): string {
  return HOSTS_PREFIX + segment('host id', hostId);
}

export function networkKey(networkId: string): string {
  return NETWORKS_PREFIX + segment('network id', networkId);
}

export function nameKey(name: string): string {
  return NAMES_PREFIX + segment('network name', name);
}

export function vniKey(vni: number): string {
  return VNI_PREFIX + String(vni);
}

/** `pools/10.0.0.0_24`: the subnet's '/' becomes '_' so the key stays one segment. */
export function poolKey(subnet: string): string {
  return POOLS_PREFIX + segment('subnet', subnet.replace('/', '_'));
}

/** The subnet a `pools/` key stands for, or undefined for a key of another kind. */
export function subnetOfPoolKey(key: string): string | undefined {
  if (!key.startsWith(POOLS_PREFIX)) return undefined;
  const rest = key.slice(POOLS_PREFIX.length);
  return rest === '' || rest.includes('/') ? undefined : rest.replace('_', '/');
}

export function netgenKey(networkId: string): string {
  return NETGEN_PREFIX + segment('network id', networkId);
}

/** The prefix of a network's address claims (with the trailing '/'). */
export function addrsPrefix(networkId: string): string {
  return `${ADDRS_PREFIX}${segment('network id', networkId)}/`;
}

export function addrKey(networkId: string, ip: string): string {
  return addrsPrefix(networkId) + segment('address', ip);
}

/** The prefix of a network's announced endpoints (with the trailing '/'). */
export function endpointsPrefix(networkId: string): string {
  return `${ENDPOINTS_PREFIX}${segment('network id', networkId)}/`;
}

export function endpointKey(networkId: string, endpointId: string): string {
  return endpointsPrefix(networkId) + segment('endpoint id', endpointId);
}

/** What a key under {@link KEY_ROOT} stands for. */
export type ParsedKey =
  | { readonly kind: 'host'; readonly hostId: string }
  | { readonly kind: 'network'; readonly networkId: string }
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'vni'; readonly vni: number }
  | { readonly kind: 'pool'; readonly subnet: string }
  | { readonly kind: 'poolgen' }
  | { readonly kind: 'netgen'; readonly networkId: string }
  | { readonly kind: 'addr'; readonly networkId: string; readonly ip: string }
  | { readonly kind: 'endpoint'; readonly networkId: string; readonly endpointId: string };

/** Parses a key this module builds; undefined for anything else (foreign or malformed keys). */
export function parseKey(key: string): ParsedKey | undefined {
  if (!key.startsWith(KEY_ROOT)) return undefined;
  const parts = key.slice(KEY_ROOT.length).split('/');
  if (parts.some((p) => p === '')) return undefined;
  const [kind, a, b] = parts;
  if (parts.length === 1) return kind === 'poolgen' ? { kind: 'poolgen' } : undefined;
  if (a === undefined) return undefined;
  if (parts.length === 2) {
    switch (kind) {
      case 'hosts':
        return { kind: 'host', hostId: a };
      case 'networks':
        return { kind: 'network', networkId: a };
      case 'names':
        return { kind: 'name', name: a };
      case 'vni':
        return /^[0-9]+$/.test(a) ? { kind: 'vni', vni: Number(a) } : undefined;
      case 'pools':
        return { kind: 'pool', subnet: a.replace('_', '/') };
      case 'netgen':
        return { kind: 'netgen', networkId: a };
      default:
        return undefined;
    }
  }
  if (parts.length === 3 && b !== undefined) {
    if (kind === 'addrs') return { kind: 'addr', networkId: a, ip: b };
    if (kind === 'endpoints') return { kind: 'endpoint', networkId: a, endpointId: b };
  }
  return undefined;
}
