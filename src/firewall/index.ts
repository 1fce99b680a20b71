/**
 * The firewall: berth's own nftables tables, rendered from the model, with NAT, published ports
 * and isolation between networks — what Docker does with iptables, without a userland proxy.
 *
 * Files: ports.ts (parse/validate/allocate/Docker JSON, pure), render.ts (model → nft, pure),
 * tracker.ts (what changed between two snapshots, pure), nft-session.ts (applying scripts:
 * a persistent `nft -i`), port-records.ts (each running container's resolved ports on disk),
 * service.ts (the ModelObserver that ties them together).
 *
 * Contract and invariants:
 * - berth owns `table inet berth` and `table bridge berth` and nothing else: it never edits,
 *   flushes or reads back anyone else's tables. In `inet berth` the chain `user` belongs to the
 *   admin (Docker's DOCKER-USER): jumped to first for forwarded traffic, created when missing,
 *   never flushed, so its rules survive berth's updates and restarts.
 * - The rules are constant; networks and published ports are elements of named sets and maps,
 *   so every model change is one small transaction of element adds/deletes (flat in the number
 *   of ports), and at start-up both tables are replaced whole, atomically, from the model.
 * - Host ports are derived from the running containers: each started container's resolution is
 *   recorded once (port-records.ts) and a port is taken only while its container runs. A start
 *   whose port is taken is refused before anything is made, with Docker's message.
 * - Sysctls are written in the daemon's own netns only: `net.ipv4.ip_forward=1` (after the
 *   rules), `net.ipv6.conf.all.forwarding=1` when a network has IPv6, and
 *   `net.ipv4.conf.<bridge>.route_localnet=1` on non-internal bridges (127.0.0.1 → published
 *   ports). `berthd --firewall=false` creates no service: no tables, no sysctls.
 * - With no user networks and no containers, what remains is both tables with their constant
 *   rules (21 in inet berth besides the admin's, 4 in bridge berth), the elements of the
 *   default bridge berth0 (as Docker keeps docker0's rules), empty port maps and the `user`
 *   chain as the admin left it.
 */
import type { Logger } from '../engine/log.js';
import type { Kernel } from '../kernel/types.js';
import { KernelNftApplier, NftSession } from './nft-session.js';
import { FilePortRecords } from './port-records.js';
import { FirewallService } from './service.js';

export { FirewallService, type FirewallServiceDeps, type SyncReport } from './service.js';
export { NftSession, KernelNftApplier, type NftApplier } from './nft-session.js';
export { FilePortRecords, MemoryPortRecords, publishedPortsOf, readPublishedPorts, type PortRecords } from './port-records.js';
export {
  parsePublishSpec,
  validatePortBinding,
  parseExposedKey,
  toDockerPortList,
  toDockerPortMap,
  type PublishedPort,
} from './ports.js';
export { TABLE, USER_CHAIN } from './render.js';
export { RulesetTracker } from './tracker.js';

/** The daemon's firewall: an `nft -i` co-process in berthd's own netns, records under `root`. */
export function createFirewall(deps: { readonly kernel: Kernel; readonly root: string; readonly log: Logger }): FirewallService {
  const nft = new NftSession({ large: new KernelNftApplier(deps.kernel) });
  return new FirewallService({ kernel: deps.kernel, nft, records: new FilePortRecords(deps.root), log: deps.log });
}
