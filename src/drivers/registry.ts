/**
 * Driver lookup by name. Drivers this kernel or daemon cannot run yet are known by name so users
 * get a clear error instead of "plugin not found".
 */
import { BerthError } from '../errors.js';
import type { DriverName } from '../model/network.js';
import { bridgeDriver } from './bridge/plan.js';
import { ipvlanDriver } from './ipvlan/plan.js';
import { macvlanDriver } from './macvlan/plan.js';
import { hostDriver, nullDriver } from './simple.js';
import type { NetworkDriver } from './types.js';

const DRIVERS: ReadonlyMap<string, NetworkDriver> = new Map([
  ['bridge', bridgeDriver],
  ['host', hostDriver],
  ['null', nullDriver],
  ['macvlan', macvlanDriver],
  // Always known: whether this kernel has ipvlan is asked at network create (see its planner).
  ['ipvlan', ipvlanDriver],
]);

/** Drivers Docker has that berth plans but cannot run here yet, with the reason. */
const NOT_YET: Readonly<Record<string, string>> = {
  overlay: 'overlay networks need a cluster store: start berthd with --cluster-store etcd://… (not implemented yet)',
};

/** The driver for `name`, or Docker's `plugin "x" not found` (404). */
export function getDriver(name: string): NetworkDriver {
  const driver = DRIVERS.get(name);
  if (driver !== undefined) return driver;
  const why = NOT_YET[name];
  if (why !== undefined) throw new BerthError('ERR_DRIVER_UNSUPPORTED', why);
  throw new BerthError('ERR_DRIVER_NOT_FOUND', `plugin "${name}" not found`);
}

/** Names of the built-in drivers (for /info Plugins.Network). */
export function builtinDriverNames(): DriverName[] {
  return [...DRIVERS.keys()] as DriverName[];
}
