/**
 * Driver lookup by name. Drivers this kernel or daemon cannot run yet are known by name so users
 * get a clear error instead of "plugin not found".
 */
import { BerthError } from '../errors.js';
import type { DriverName } from '../model/network.js';
import { bridgeDriver } from './bridge/plan.js';
import { hostDriver, nullDriver } from './simple.js';
import type { NetworkDriver } from './types.js';

const DRIVERS: ReadonlyMap<string, NetworkDriver> = new Map([
  ['bridge', bridgeDriver],
  ['host', hostDriver],
  ['null', nullDriver],
]);

/** Drivers Docker has that berth plans but cannot run here yet, with the reason. */
const NOT_YET: Readonly<Record<string, string>> = {
  overlay: 'overlay networks need a cluster store: start berthd with --cluster-store etcd://… (not implemented yet)',
  macvlan: 'the macvlan driver is not implemented yet',
  ipvlan: 'the ipvlan driver is not implemented yet (and this kernel has no ipvlan support)',
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
