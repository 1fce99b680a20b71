/**
 * Services that follow the model (the firewall, the embedded DNS) observe it instead of being
 * called from inside the controllers: after every change they get the whole model as data and
 * bring their own kernel state in line; before a container starts they may refuse it (a host
 * port already taken). This keeps the controllers free of firewall and DNS code.
 */
import type { Container, Endpoint } from '../model/container.js';
import type { Network } from '../model/network.js';
import type { AnnouncedEndpoint } from '../cluster/types.js';

/** The model at one moment, as plain data. */
export interface ModelSnapshot {
  readonly networks: readonly Network[];
  readonly containers: readonly Container[];
  readonly endpoints: readonly Endpoint[];
  /** containerId → netns path of each running (or starting) container's own sandbox. */
  readonly sandboxes: ReadonlyMap<string, string>;
  /**
   * Endpoints running on other hosts of the cluster (global networks), as announced there;
   * absent or empty on a single host. The embedded DNS answers their names.
   */
  readonly remote?: readonly AnnouncedEndpoint[];
}

/** A service that follows the model. */
export interface ModelObserver {
  /** A short name for logs. */
  readonly name: string;
  /**
   * Called before a container's sandbox is made; throwing refuses the start (with nothing
   * made yet). `snapshot` does not include the container as running yet.
   */
  beforeStart?(container: Container, snapshot: ModelSnapshot): void | Promise<void>;
  /**
   * Called once a container's own sandbox (its netns, interfaces up) exists and before its
   * process starts, so a service can serve the container's very first packet (the embedded DNS
   * binds its sockets in the netns here). `snapshot` does not include the container as running
   * yet. Not called for `host` and `container:` modes, which have no sandbox of their own.
   */
  sandboxReady?(container: Container, netns: string, snapshot: ModelSnapshot): void | Promise<void>;
  /** Called after every change (and once at start-up) with the whole model. */
  sync(snapshot: ModelSnapshot): void | Promise<void>;
}
