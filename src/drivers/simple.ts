/**
 * The `host` and `null` drivers: no kernel objects of their own. `host` containers share the
 * daemon's netns; `null` containers get a netns with only `lo`. One network of each may exist.
 */
import type { NetworkDriver } from './types.js';

function noKernelWork(name: 'host' | 'null'): NetworkDriver {
  return {
    name,
    usesIpam: false,
    singleton: true,
    validate: () => undefined,
    planCreate: () => [],
    planRemove: () => [],
    planReconcile: () => [],
    planJoin: () => [],
    planLeave: () => [],
    planDrop: () => [],
  };
}

export const hostDriver = noKernelWork('host');
export const nullDriver = noKernelWork('null');
