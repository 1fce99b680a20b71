/**
 * The parent link of a macvlan or ipvlan network (`-o parent=…`), shared by both drivers.
 *
 * Three kinds of parent, decided as Docker's drivers decide them (moby
 * `libnetwork/drivers/macvlan/macvlan_network.go` `createNetwork`, `macvlan_setup.go`):
 *
 * 1. a link that exists in the daemon's netns: used as is. berth never changes or deletes it —
 *    not even when its name looks like `eth0.10`;
 * 2. `name.vid` that does not exist: an 802.1q sub-interface berth creates on `name` with VLAN
 *    id `vid`, up, marked with the network's alias, and deletes with the network;
 * 3. no `-o parent`: a dummy link (`dm-`/`di-` + 12 hex of the network id) berth creates as the
 *    parent; the network is then internal (containers reach only each other), as in Docker.
 *
 * Ownership is the alias: links of kinds 2 and 3 carry `berth:net:<network id>` and are
 * removed with a delete that checks it (`onlyIfAlias`), so a user's link of the same name is
 * never removed. The engine's reconcile removes such links whose network is gone.
 *
 * Everything that reads the host (does the parent exist, does the kernel have `vlan`/`dummy`)
 * uses `DriverContext.host`; without it, parents are assumed to be there.
 */
import { BerthError, invalid } from '../errors.js';
import type { KernelOp, LinkSpec } from '../kernel/types.js';
import { parseIfName } from '../model/ifname.js';
import type { Network } from '../model/network.js';
import { networkAlias, type HostView } from './types.js';

/** `-o parent`: the parent link (Docker's key for both drivers). */
export const OPT_PARENT = 'parent';

/** The two drivers built on a parent link. */
export type ParentDriver = 'macvlan' | 'ipvlan';

/** Where a network's parent link comes from. */
export type ParentLink =
  /** A link the user has: used, never changed or deleted. */
  | { readonly kind: 'existing'; readonly name: string }
  /** An 802.1q sub-interface `base.id` berth creates and owns. */
  | { readonly kind: 'vlan'; readonly name: string; readonly base: string; readonly id: number }
  /** A dummy link berth creates and owns because no parent was given. */
  | { readonly kind: 'dummy'; readonly name: string };

/** Docker's dummy parent names: `dm-` (macvlan) / `di-` (ipvlan) + 12 hex of the network id. */
export function dummyParentName(driver: ParentDriver, networkId: string): string {
  return `${driver === 'macvlan' ? 'dm-' : 'di-'}${networkId.slice(0, 12)}`;
}

/** The `-o parent` value, '' when not given. */
export function parentOption(network: Network): string {
  return network.options[OPT_PARENT] ?? '';
}

/** The name of the network's parent link: the option, or the dummy's name without one. */
export function parentName(driver: ParentDriver, network: Network): string {
  const given = parentOption(network);
  return given === '' ? dummyParentName(driver, network.id) : given;
}

/** True for networks without `-o parent`: Docker makes them internal (no default route). */
export function isParentless(network: Network): boolean {
  return parentOption(network) === '';
}

/** Checks of the option alone (no host): loopback and the name's syntax. */
export function parseParentOption(driver: ParentDriver, network: Network): void {
  const given = parentOption(network);
  if (given === '') return;
  if (given === 'lo') throw invalid(`loopback interface is not a valid ${driver} parent link`);
  parseIfName(given, '-o parent interface name');
}

/**
 * Decides which kind of parent the network has, with Docker's errors for a parent that is
 * missing or a malformed `name.vid`. With `host`, a parent that exists is `existing`; without
 * it (unit tests, dry runs) a name without a dot is assumed to exist.
 */
export function resolveParent(driver: ParentDriver, network: Network, host: HostView | undefined): ParentLink {
  parseParentOption(driver, network);
  const name = parentName(driver, network);
  if (isParentless(network)) return { kind: 'dummy', name };
  const links = host?.links();
  if (links?.some((l) => l.name === name) === true) return { kind: 'existing', name };
  if (!name.includes('.')) {
    if (links === undefined) return { kind: 'existing', name };
    // Docker answers "invalid subinterface vlan name eth9, example formatting is eth0.10" here,
    // which hides the cause; its own message for a missing `eth9` in `eth9.10` says it plainly.
    throw invalid(`-o parent interface was not found on the host: ${name}`);
  }
  // moby macvlan_setup.go parseVlan / createVlanLink, with its messages.
  const parts = name.split('.');
  if (parts.length !== 2) {
    throw invalid(`required interface name format is: name.vlan_id, ex. eth0.10 for vlan 10, instead received ${name}`);
  }
  const [base = '', vidText = ''] = parts;
  if (!/^[+-]?\d+$/.test(vidText)) throw invalid(`unable to parse a valid vlan id from: ${vidText} (ex. eth0.10 for vlan 10)`);
  if (links !== undefined && !links.some((l) => l.name === base)) {
    throw invalid(`-o parent interface was not found on the host: ${base}`);
  }
  const id = Number(vidText);
  if (id > 4094 || id < 1) throw invalid(`vlan id must be between 1-4094, received: ${id}`);
  return { kind: 'vlan', name, base, id };
}

/**
 * Host-side checks of a parent berth would create: the kernel must have the link type. Tried
 * on the kernel (see `Kernel.linkKindSupported`), so the user hears why before anything is made.
 */
export function checkParentSupported(driver: ParentDriver, network: Network, parent: ParentLink, host: HostView): void {
  if (parent.kind === 'vlan' && !host.supportsLinkKind('vlan')) {
    throw new BerthError(
      'ERR_DRIVER_UNSUPPORTED',
      `-o parent=${parent.name} needs an 802.1q VLAN link ${parent.name} (id ${parent.id} on ${parent.base}), ` +
        `which berth would create, but this kernel has no 802.1q VLAN support (link type "vlan"): ` +
        `use an interface that exists as the parent`,
    );
  }
  if (parent.kind === 'dummy' && !host.supportsLinkKind('dummy')) {
    throw new BerthError(
      'ERR_DRIVER_UNSUPPORTED',
      `the ${driver} driver needs -o parent=<host interface> on this host: without one it creates a dummy link ` +
        `(${parent.name}) as the parent, and this kernel has no dummy link type`,
    );
  }
  // A VLAN link berth made for another network goes away with that network: not shareable.
  if (parent.kind === 'existing' && parent.name.includes('.')) {
    const link = host.links().find((l) => l.name === parent.name);
    const owner = host.networks().find((n) => link?.alias === networkAlias(n.id));
    if (owner !== undefined && owner.id !== network.id) {
      throw invalid(
        `parent interface ${parent.name} was created by berth for network ${owner.name} and is removed with it: ` +
          `create ${parent.name} yourself to use it in several networks`,
      );
    }
  }
}

/** Other networks of `driver` on the same parent name. */
export function networksOnParent(driver: ParentDriver, network: Network, host: HostView): Network[] {
  const name = parentName(driver, network);
  return host.networks().filter((n) => n.id !== network.id && n.driver === driver && parentName(driver, n) === name);
}

/**
 * A link can be the parent of macvlans or of ipvlans, not both (each takes the parent's one
 * receive handler; the kernel answers EBUSY at the first container). Said at network create.
 */
export function checkNoOtherKindOnParent(driver: ParentDriver, network: Network, host: HostView): void {
  const other: ParentDriver = driver === 'macvlan' ? 'ipvlan' : 'macvlan';
  const name = parentName(driver, network);
  const clash = host.networks().find((n) => n.driver === other && parentName(other, n) === name);
  if (clash !== undefined) {
    throw invalid(
      `parent interface ${name} is already used by ${other} network ${clash.name}: ` +
        `a link cannot be the parent of both macvlan and ipvlan links`,
    );
  }
}

/** Kernel work to create the parent, if berth owns it: the vlan or dummy link, up, with our alias. */
export function planParentCreate(network: Network, parent: ParentLink): KernelOp[] {
  switch (parent.kind) {
    case 'existing':
      return [];
    case 'vlan':
      return [
        {
          kind: 'link-add',
          netns: null,
          link: { name: parent.name, info: { kind: 'vlan', id: parent.id, parent: parent.base }, up: true, alias: networkAlias(network.id) },
        },
      ];
    case 'dummy':
      return [
        { kind: 'link-add', netns: null, link: { name: parent.name, info: { kind: 'dummy' }, up: true, alias: networkAlias(network.id) } },
      ];
  }
}

/**
 * Kernel work to remove what the network owns: a parent berth may have made (dummy, or a
 * `name.vid`), deleted only if it carries this network's alias. Pure: no host needed.
 */
export function planParentRemove(driver: ParentDriver, network: Network): KernelOp[] {
  const name = parentName(driver, network);
  if (!isParentless(network) && !name.includes('.')) return [];
  return [{ kind: 'link-del', netns: null, name, onlyIfAlias: networkAlias(network.id) }];
}

/**
 * After a restart: re-create an owned parent that went missing (Docker re-creates it the same
 * way when it restores the network), and bring ours back up. A missing user parent cannot be
 * repaired here; containers fail to start with the kernel's ENODEV until it is back.
 */
export function planParentReconcile(driver: ParentDriver, network: Network, links: readonly { name: string; up: boolean; alias: string | undefined }[]): KernelOp[] {
  const name = parentName(driver, network);
  if (!isParentless(network) && !name.includes('.')) return [];
  const link = links.find((l) => l.name === name);
  if (link === undefined) {
    try {
      return planParentCreate(network, resolveParent(driver, network, undefined));
    } catch {
      return [];
    }
  }
  if (!link.up && link.alias === networkAlias(network.id)) return [{ kind: 'link-set', netns: null, name, up: true }];
  return [];
}

/**
 * Kernel work to put a link on the parent into a sandbox as `endpoint.ifName`, addressed and
 * up: a macvlan or ipvlan has no host side, so this is the whole endpoint.
 *
 * 1. RTM_NEWLINK in the host netns (where IFLA_LINK finds the parent) with IFLA_NET_NS_FD =
 *    the sandbox: the link is born in the sandbox, down, under `tempName`.
 * 2. Rename it to `eth<N>` inside the sandbox. Why not create it as `eth0` at once: this
 *    kernel (6.18) checks the new name in the target netns (tried: `ip link add link eth0 name
 *    eth0 netns C type macvlan` works while the host has an `eth0`), but older kernels look the
 *    name up in the netns of the request and answer EEXIST whenever the host has a link of
 *    that name — always, when the parent is `eth0`. Docker and the CNI plugins also create
 *    under a temporary name and rename. A rename needs the link down, hence up comes last.
 * 3. Addresses, then up, from the sandbox's own socket.
 *
 * Every step has an inverse, so a failed start undoes it all; stopping drops the netns, which
 * takes the link with it (a macvlan/ipvlan dies with its netns, it is not handed back).
 */
export function planLinkInSandbox(
  endpoint: { readonly ifName: string; readonly ipv4?: string; readonly ipv6?: string },
  netns: string,
  tempName: string,
  link: Omit<LinkSpec, 'name' | 'targetNetns' | 'up'>,
): KernelOp[] {
  const ops: KernelOp[] = [
    { kind: 'link-add', netns: null, link: { ...link, name: tempName, targetNetns: netns } },
    { kind: 'link-set', netns, name: tempName, newName: endpoint.ifName },
  ];
  if (endpoint.ipv4 !== undefined) ops.push({ kind: 'addr-add', netns, dev: endpoint.ifName, cidr: endpoint.ipv4 });
  if (endpoint.ipv6 !== undefined) ops.push({ kind: 'addr-add', netns, dev: endpoint.ifName, cidr: endpoint.ipv6 });
  ops.push({ kind: 'link-set', netns, name: endpoint.ifName, up: true });
  return ops;
}
