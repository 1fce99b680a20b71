/**
 * The kernel boundary in kernel vocabulary. Planners produce `KernelOp`s (pure data); the
 * engine applies them through a `Kernel`, recording what succeeded and undoing with
 * `inverseOf` on failure. Only `src/kernel/` has side effects on the kernel.
 *
 * A `NetnsRef` of `null` means the daemon's own network namespace (the "host"); a string is
 * the path of a bind-mounted netns file (e.g. `/run/berth/netns/<id>`).
 */

/** null = the daemon's own netns; otherwise the path of a netns bind mount. */
export type NetnsRef = string | null;

/** Link-type specific attributes for `linkAdd`. */
export type LinkInfo =
  | { readonly kind: 'bridge' }
  | {
      readonly kind: 'veth';
      /** Name of the peer end. */
      readonly peerName: string;
      /** Namespace the peer is created in (IFLA_NET_NS_FD inside VETH_INFO_PEER). */
      readonly peerNetns: NetnsRef;
      readonly peerMac?: string;
      /** MTU of the peer; defaults to the link's `mtu` (a pair with two MTUs drops frames). */
      readonly peerMtu?: number;
      /**
       * Bring the peer up too. It cannot be done in the creating message (the kernel answers
       * ENOTCONN), so it is a second request from a socket inside `peerNetns`.
       */
      readonly peerUp?: boolean;
    }
  | {
      readonly kind: 'vxlan';
      readonly vni: number;
      /** UDP destination port (4789 by default). */
      readonly port: number;
      /** Local underlay address. */
      readonly local?: string;
      /** Underlay device name. */
      readonly dev?: string;
      readonly learning: boolean;
      /**
       * ARP proxy (IFLA_VXLAN_PROXY): the vxlan answers ARP requests itself from its neighbour
       * table instead of flooding them to remotes (the overlay driver programs that table).
       */
      readonly proxy?: boolean;
    }
  | {
      readonly kind: 'macvlan';
      readonly mode: 'bridge' | 'private' | 'vepa' | 'passthru';
      /** Parent link name in the namespace the link is created in. */
      readonly parent: string;
    }
  | {
      readonly kind: 'ipvlan';
      readonly mode: 'l2' | 'l3' | 'l3s';
      /** IFLA_IPVLAN_FLAGS: how slaves of one parent reach each other (default `bridge`). */
      readonly flag?: 'bridge' | 'private' | 'vepa';
      /** Parent link name in the namespace the link is created in. */
      readonly parent: string;
    }
  | { readonly kind: 'vlan'; readonly id: number; readonly parent: string }
  | { readonly kind: 'dummy' };

/** A link to create. */
export interface LinkSpec {
  readonly name: string;
  readonly info: LinkInfo;
  /** MAC as `aa:bb:cc:dd:ee:ff`; set explicitly for bridges (see KERNEL-NOTES: bridge MAC). */
  readonly mac?: string;
  readonly mtu?: number;
  /** Bring the link up (IFF_UP) in the same message. */
  readonly up?: boolean;
  /** Name of the bridge to enslave to (IFLA_MASTER), in the same namespace. */
  readonly master?: string;
  /** IFLA_IFALIAS: berth marks links it owns with `berth:<owner>`. */
  readonly alias?: string;
  /** IFLA_GROUP, for bulk deletion by group. */
  readonly group?: number;
  /**
   * Hairpin mode on the bridge port (with `master`): lets a container reach itself through a
   * DNAT'd host address, which br_netfilter bridges back out of the port it came in by.
   */
  readonly hairpin?: boolean;
  /**
   * Namespace the new link is registered in, when it is not the one the request runs in
   * (IFLA_NET_NS_FD on RTM_NEWLINK). Why: a macvlan/ipvlan/vlan names its parent by ifindex
   * (IFLA_LINK), which the kernel resolves in the netns of the request, so the request must
   * run where the parent is (the host) while the link belongs in the sandbox. Created there
   * directly, it never shows up in the host netns, and no second "move" request is needed.
   * Follow-up requests (alias) go to this netns, and the inverse deletes the link here.
   * With `master`, both must be in one netns (a link cannot be enslaved across namespaces).
   */
  readonly targetNetns?: NetnsRef;
}

/** One unit of kernel work, as data. Every kind has an inverse (`inverseOf`). */
export type KernelOp =
  | { readonly kind: 'netns-add'; readonly path: string }
  | { readonly kind: 'netns-del'; readonly path: string }
  | { readonly kind: 'link-add'; readonly netns: NetnsRef; readonly link: LinkSpec }
  | {
      readonly kind: 'link-del';
      readonly netns: NetnsRef;
      readonly name: string;
      /**
       * Delete only a link whose IFLA_IFALIAS is exactly this (berth's ownership mark); a link
       * by that name without it is left alone, and that counts as success. For links berth
       * creates only sometimes, under a name users may also give their own links (a macvlan
       * network's `eth0.10` parent).
       */
      readonly onlyIfAlias?: string;
    }
  | {
      readonly kind: 'link-set';
      readonly netns: NetnsRef;
      readonly name: string;
      readonly up?: boolean;
      readonly mtu?: number;
      readonly mac?: string;
      /** Enslave to this bridge, or null to release. */
      readonly master?: string | null;
      /** Rename. */
      readonly newName?: string;
      /**
       * The values before this change, for undo: `inverseOf` restores exactly the fields
       * recorded here (a rename is undone without it).
       */
      readonly previous?: {
        readonly up?: boolean;
        readonly mtu?: number;
        readonly mac?: string;
        readonly master?: string | null;
      };
    }
  | { readonly kind: 'addr-add'; readonly netns: NetnsRef; readonly dev: string; readonly cidr: string }
  | { readonly kind: 'addr-del'; readonly netns: NetnsRef; readonly dev: string; readonly cidr: string }
  | {
      readonly kind: 'route-add';
      readonly netns: NetnsRef;
      /** `default`, `default6`, or a CIDR. */
      readonly dst: string;
      readonly via?: string;
      readonly dev?: string;
    }
  | {
      readonly kind: 'route-del';
      readonly netns: NetnsRef;
      readonly dst: string;
      readonly via?: string;
      readonly dev?: string;
    }
  | { readonly kind: 'neigh-add'; readonly netns: NetnsRef; readonly dev: string; readonly ip: string; readonly mac: string }
  | { readonly kind: 'neigh-del'; readonly netns: NetnsRef; readonly dev: string; readonly ip: string }
  | { readonly kind: 'fdb-add'; readonly netns: NetnsRef; readonly dev: string; readonly mac: string; readonly dst: string }
  | { readonly kind: 'fdb-del'; readonly netns: NetnsRef; readonly dev: string; readonly mac: string; readonly dst: string }
  | {
      readonly kind: 'sysctl-set';
      readonly netns: NetnsRef;
      /** Path below /proc/sys, e.g. `net/ipv4/ip_forward`. */
      readonly key: string;
      readonly value: string;
      /** Value to restore on undo; undefined = leave as set. */
      readonly previous?: string;
    };

/** A link as read back from the kernel. */
export interface LinkState {
  readonly index: number;
  readonly name: string;
  /** IFLA_INFO_KIND (`bridge`, `veth`, `vxlan`, …); undefined for plain devices (lo, eth0). */
  readonly kind: string | undefined;
  readonly mac: string;
  readonly mtu: number;
  /** IFF_UP is set. */
  readonly up: boolean;
  /** ifindex of the master (bridge), if enslaved. */
  readonly master: number | undefined;
  readonly alias: string | undefined;
  readonly group: number;
}

/** An address as read back from the kernel. */
export interface AddrState {
  readonly ifindex: number;
  readonly family: 4 | 6;
  /** `172.18.0.1/16` */
  readonly cidr: string;
}

/** A route as read back from the kernel (main table). */
export interface RouteState {
  readonly family: 4 | 6;
  /** `default` or a CIDR. */
  readonly dst: string;
  readonly gateway: string | undefined;
  readonly oif: number | undefined;
}

/**
 * The static entries of one device, as read back: what `fdbAdd` and `neighAdd` program (and
 * `bridge fdb add … self permanent` / `ip neigh add … nud permanent` make). MACs are lowercase.
 */
export interface DeviceNeighbours {
  /** The device's own FDB entries towards a remote (NTF_SELF, NUD_PERMANENT, with a dst), one per remote. */
  readonly fdb: readonly { readonly mac: string; readonly dst: string }[];
  /** Its permanent IP neighbours, IPv4 and IPv6. */
  readonly neigh: readonly { readonly ip: string; readonly mac: string }[];
}

/**
 * The narrow, typed surface berth uses to change the kernel. Netlink calls are synchronous
 * (rtnetlink answers inside sendmsg); `nftApply` runs `nft -f -` and is async.
 * `ensure`-style tolerance is the caller's business: these calls fail on EEXIST / ENOENT with a
 * `KernelError` carrying errno, except the `*Del` calls, which treat "already gone" as success.
 */
export interface Kernel {
  /** Create a named netns bind-mounted at `path` (parent dir must exist). */
  netnsAdd(path: string): void;
  /** Unmount (all stacked mounts) and unlink; absent is success. */
  netnsDel(path: string): void;
  /**
   * Make the directory that holds netns files a shared mount (binding it onto itself first if
   * needed), as iproute2 does for /run/netns, so that mount namespaces created later (runc)
   * see our unmounts and do not keep deleted namespaces alive. Idempotent; once per daemon.
   */
  netnsDirSetup(dir: string): void;
  linkAdd(netns: NetnsRef, link: LinkSpec): void;
  /** Delete a link; with `onlyIfAlias`, only if its alias is exactly that (see the op). */
  linkDel(netns: NetnsRef, name: string, onlyIfAlias?: string): void;
  /**
   * `linkDel` off the main thread: deleting a bridge or a veth waits in the kernel for an RCU
   * grace period (27–45 ms here), which would stall the daemon's event loop that long.
   */
  linkDelAsync(netns: NetnsRef, name: string, onlyIfAlias?: string): Promise<void>;
  /**
   * Whether the kernel knows link type `kind` (`ipvlan`, `vlan`, `dummy`, …), loading its
   * module if it can. Asked by trying, with nothing created (`encodeLinkProbe`).
   */
  linkKindSupported(netns: NetnsRef, kind: Exclude<LinkInfo['kind'], 'veth'>): boolean;
  linkSet(op: Extract<KernelOp, { kind: 'link-set' }>): void;
  addrAdd(netns: NetnsRef, dev: string, cidr: string): void;
  addrDel(netns: NetnsRef, dev: string, cidr: string): void;
  routeAdd(netns: NetnsRef, dst: string, via?: string, dev?: string): void;
  routeDel(netns: NetnsRef, dst: string, via?: string, dev?: string): void;
  neighAdd(netns: NetnsRef, dev: string, ip: string, mac: string): void;
  neighDel(netns: NetnsRef, dev: string, ip: string): void;
  fdbAdd(netns: NetnsRef, dev: string, mac: string, dst: string): void;
  fdbDel(netns: NetnsRef, dev: string, mac: string, dst: string): void;
  sysctlSet(netns: NetnsRef, key: string, value: string): void;
  sysctlGet(netns: NetnsRef, key: string): string;
  listLinks(netns: NetnsRef): LinkState[];
  listAddrs(netns: NetnsRef): AddrState[];
  listRoutes(netns: NetnsRef): RouteState[];
  /** The permanent FDB and neighbour entries of device `dev` (ENODEV if there is none). */
  listNeighbours(netns: NetnsRef, dev: string): DeviceNeighbours;
  /** Apply an nft script in one transaction (`nft -f -`) in the given netns. */
  nftApply(netns: NetnsRef, script: string): Promise<void>;
  /** `nft -j list ruleset` parsed, in the given netns. */
  nftList(netns: NetnsRef): Promise<unknown>;
  /** Close cached netlink sockets for a netns that is going away (or all, with undefined). */
  release(netns?: NetnsRef): void;
}
