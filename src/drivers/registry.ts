/**
 * Driver lookup by name. Every Docker driver berth has is here, also when this host cannot run
 * it (ipvlan without the module, overlay outside a cluster): the driver's `validate` then says
 * why, instead of "plugin not found".
 */
import { BerthError } from '../errors.js';
import type { DriverName } from '../model/network.js';
import { bridgeDriver } from './bridge/plan.js';
import { ipvlanDriver } from './ipvlan/plan.js';
import { macvlanDriver } from './macvlan/plan.js';
import { overlayDriver } from './overlay/plan.js';
import { hostDriver, nullDriver } from './simple.js';
import type { NetworkDriver } from './types.js';

const DRIVERS: ReadonlyMap<string, NetworkDriver> = new Map([
  ['bridge', bridgeDriver],
  ['host', hostDriver],
  ['null', nullDriver],
  ['macvlan', macvlanDriver],
  // Always known: whether this kernel has ipvlan is asked at network create (see its planner).
  ['ipvlan', ipvlanDriver],
  // Always known: outside a cluster, network create says what the daemon needs (see its planner).
  ['overlay', overlayDriver],
]);

/** The driver for `name`, or Docker's `plugin "x" not found` (404). */
export function getDriver(name: string): NetworkDriver {
  const driver = DRIVERS.get(name);
  if (driver !== undefined) return driver;
  throw new BerthError('ERR_DRIVER_NOT_FOUND', `plugin "${name}" not found`);
}

/** Names of the built-in drivers (for /info Plugins.Network). */
export function builtinDriverNames(): DriverName[] {
  return [...DRIVERS.keys()] as DriverName[];
}
