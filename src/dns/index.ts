/**
 * berth's embedded DNS: service discovery at 127.0.0.11 on user-defined networks.
 *
 * Contract
 * - Every running sandbox whose container is on at least one user-defined network (the rule
 *   that also writes `nameserver 127.0.0.11` into its resolv.conf) has a UDP socket and a TCP
 *   listener bound inside its netns at 127.0.0.11:53, opened by the native addon and served by
 *   the daemon's event loop. No NAT rule, no per-network listener: a socket knows its sandbox,
 *   so answers are scoped to the asking container without looking at source addresses.
 * - A container sees the running containers of the user-defined networks it is attached to, by
 *   name, network alias, hostname, short ID and `name.network`; A, AAAA (round robin), PTR;
 *   TTL 600; NXDOMAIN and NOERROR as Docker answers them (resolver.ts). The rest is forwarded
 *   to its `--dns`, else the daemon's `--dns`, else the host's non-loopback nameservers, from
 *   the daemon's netns, bounded in time (forwarder.ts).
 * - `sync(snapshot)` (a ModelObserver) rebuilds the whole table and swaps it in, and opens and
 *   closes sockets to match; the controllers await it before an API call returns, so the next
 *   query sees a join, leave, stop or rename. `sandboxReady` opens a new sandbox's sockets
 *   before its process starts, when the controller calls it.
 * - Sockets are closed as soon as their sandbox leaves the model (an open socket keeps a
 *   netns alive) and are unref'd (they never keep a stopping daemon alive). After a daemon
 *   restart, the first sync opens them again for the containers still running.
 * - Malformed packets are dropped or answered FORMERR/NOTIMP; nothing a client sends can
 *   throw out of a socket handler.
 *
 * Layers: wire.ts (bytes) ← records.ts (model → names, pure) ← resolver.ts (query → decision,
 * pure) ← forwarder.ts (upstream I/O) ← server.ts (sockets, the observer).
 */
export { DnsServer, EMBEDDED_DNS_ADDRESS, type DnsServerOptions, type SocketOpener } from './server.js';
export { buildTable, hasEmbeddedDns, parseUpstreams, type DnsTable, type SandboxView, type Upstream } from './records.js';
export { resolve, lookupName, type Decision } from './resolver.js';
export { Forwarder, DEFAULT_FORWARDER_OPTIONS, type ForwarderOptions } from './forwarder.js';
