/**
 * rtnetlink numbers, from the Linux UAPI headers (linux/netlink.h, linux/rtnetlink.h,
 * linux/if_link.h, linux/if_addr.h, linux/neighbour.h). Only what berth encodes or decodes.
 */

/** Netlink protocol of routing sockets (linux/netlink.h). */
export const NETLINK_ROUTE = 0;

/** sizeof(struct nlmsghdr). */
export const NLMSG_HDRLEN = 16;
/** sizeof(struct nlattr) header. */
export const NLA_HDRLEN = 4;
/** Messages and attributes are padded to 4 bytes. */
export const NLMSG_ALIGNTO = 4;

/** Control message types (nlmsg_type below 16). */
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

/** nlmsg_flags. */
export const NLM_F_REQUEST = 0x01;
export const NLM_F_MULTI = 0x02;
export const NLM_F_ACK = 0x04;
export const NLM_F_ECHO = 0x08;
/** Set on dump messages when the dumped table changed during the dump: the dump is inconsistent. */
export const NLM_F_DUMP_INTR = 0x10;
/** Modifiers of GET requests. */
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
/** Modifiers of NEW requests. */
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
/** Flags of NLMSG_ERROR messages: the request was not echoed / TLVs follow. */
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

/** Extended-ack TLVs after struct nlmsgerr (enum nlmsgerr_attrs). */
export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;

/** Attribute type flags (top bits of nla_type). */
export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

/** rtnetlink message types. */
export const RTM_NEWLINK = 16;
export const RTM_SETLINK = 19;
/** IFLA_PROTINFO: per-port bridge attributes (nested, with NLA_F_NESTED, in an AF_BRIDGE RTM_SETLINK). */
export const IFLA_PROTINFO = 12;
/** IFLA_BRPORT_MODE: u8, 1 = hairpin (frames may leave through the port they came in by). */
export const IFLA_BRPORT_MODE = 4;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;
export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
export const RTM_GETNEIGH = 30;

/** Address families. */
export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_BRIDGE = 7;
export const AF_INET6 = 10;

/** Fixed-size family headers. */
export const IFINFOMSG_LEN = 16;
export const IFADDRMSG_LEN = 8;
export const RTMSG_LEN = 12;
export const NDMSG_LEN = 12;
/** sizeof(struct nlmsgerr) without the echoed payload: int error + struct nlmsghdr. */
export const NLMSGERR_LEN = 4 + NLMSG_HDRLEN;

/** ifi_flags. */
export const IFF_UP = 0x1;

/** struct ifinfomsg attributes (enum IFLA_*). */
export const IFLA_ADDRESS = 1;
export const IFLA_BROADCAST = 2;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_MASTER = 10;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKINFO = 18;
export const IFLA_IFALIAS = 20;
export const IFLA_GROUP = 27;
export const IFLA_NET_NS_FD = 28;
export const IFLA_EXT_MASK = 29;

/** IFLA_EXT_MASK bits: leave statistics out of link dumps (they are most of the bytes). */
export const RTEXT_FILTER_SKIP_STATS = 1 << 3;

/** Inside IFLA_LINKINFO. */
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const IFLA_INFO_SLAVE_KIND = 4;

/** Inside IFLA_INFO_DATA of a veth: the peer, as struct ifinfomsg + IFLA_* attributes. */
export const VETH_INFO_PEER = 1;

/** Inside IFLA_INFO_DATA of a vxlan. */
export const IFLA_VXLAN_ID = 1;
export const IFLA_VXLAN_GROUP = 2;
export const IFLA_VXLAN_LINK = 3;
export const IFLA_VXLAN_LOCAL = 4;
export const IFLA_VXLAN_TTL = 5;
export const IFLA_VXLAN_LEARNING = 7;
/** u8: answer ARP/ND from the vxlan's neighbour table (`ip link add … proxy`). */
export const IFLA_VXLAN_PROXY = 11;
/** UDP destination port, big-endian (__be16). */
export const IFLA_VXLAN_PORT = 15;
export const IFLA_VXLAN_GROUP6 = 16;
export const IFLA_VXLAN_LOCAL6 = 17;

/** Inside IFLA_INFO_DATA of a macvlan (u32). */
export const IFLA_MACVLAN_MODE = 1;
export const MACVLAN_MODE = { private: 1, vepa: 2, bridge: 4, passthru: 8 } as const;

/** Inside IFLA_INFO_DATA of an ipvlan (u16). */
export const IFLA_IPVLAN_MODE = 1;
export const IPVLAN_MODE = { l2: 0, l3: 1, l3s: 2 } as const;
/** Inside IFLA_INFO_DATA of an ipvlan (u16): IPVLAN_F_PRIVATE 1, IPVLAN_F_VEPA 2; 0 is bridge. */
export const IFLA_IPVLAN_FLAGS = 2;
export const IPVLAN_FLAG = { bridge: 0, private: 1, vepa: 2 } as const;

/** Inside IFLA_INFO_DATA of a vlan (u16). */
export const IFLA_VLAN_ID = 1;

/** struct ifaddrmsg attributes. */
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const IFA_BROADCAST = 4;
export const IFA_FLAGS = 8;
/** ifa_flags: skip duplicate address detection (IPv6). */
export const IFA_F_NODAD = 0x02;

/** struct rtmsg attributes. */
export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_TABLE = 15;

/** Routing tables, protocols, scopes and types. */
export const RT_TABLE_MAIN = 254;
export const RTPROT_UNSPEC = 0;
/** What `ip route add` uses by default. */
export const RTPROT_BOOT = 3;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
/** Used on delete: match a route of any scope (as iproute2 does). */
export const RT_SCOPE_NOWHERE = 255;
export const RTN_UNSPEC = 0;
export const RTN_UNICAST = 1;

/** struct ndmsg attributes. */
export const NDA_DST = 1;
export const NDA_LLADDR = 2;
/** u32 ifindex; in a dump request, asks the kernel to send only that device's neighbours. */
export const NDA_IFINDEX = 8;

/** Neighbour states and flags. */
export const NUD_NOARP = 0x40;
export const NUD_PERMANENT = 0x80;
/** The FDB entry belongs to the device itself (the vxlan), not to a bridge above it. */
export const NTF_SELF = 0x02;
