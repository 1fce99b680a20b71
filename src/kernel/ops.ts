/**
 * Kernel ops as data, applied and undone (STYLE §2): `applyOp` runs one op on a `Kernel`,
 * `inverseOf` says what undoes it, and `applyAll` runs a plan in order and, when an op fails,
 * runs the inverses of the ops that succeeded in reverse order before rethrowing.
 *
 * Which ops have no inverse, and why: a delete whose op does not carry the whole deleted state
 * (`netns-del`, `link-del`, `neigh-del`) cannot be re-created from the op alone, and a change
 * without its previous values (`link-set` without `previous`, `sysctl-set` without
 * `previous`) cannot be reverted. Planners put such ops where no undo is needed (teardown), or
 * record the previous values.
 */
import { TeardownError } from '../errors.js';
import type { Kernel, KernelOp } from './types.js';

/** Run one op on `kernel`. */
export function applyOp(kernel: Kernel, op: KernelOp): void {
  switch (op.kind) {
    case 'netns-add':
      return kernel.netnsAdd(op.path);
    case 'netns-del':
      return kernel.netnsDel(op.path);
    case 'link-add':
      return kernel.linkAdd(op.netns, op.link);
    case 'link-del':
      return kernel.linkDel(op.netns, op.name, op.onlyIfAlias);
    case 'link-set':
      return kernel.linkSet(op);
    case 'addr-add':
      return kernel.addrAdd(op.netns, op.dev, op.cidr);
    case 'addr-del':
      return kernel.addrDel(op.netns, op.dev, op.cidr);
    case 'route-add':
      return kernel.routeAdd(op.netns, op.dst, op.via, op.dev);
    case 'route-del':
      return kernel.routeDel(op.netns, op.dst, op.via, op.dev);
    case 'neigh-add':
      return kernel.neighAdd(op.netns, op.dev, op.ip, op.mac);
    case 'neigh-del':
      return kernel.neighDel(op.netns, op.dev, op.ip);
    case 'fdb-add':
      return kernel.fdbAdd(op.netns, op.dev, op.mac, op.dst);
    case 'fdb-del':
      return kernel.fdbDel(op.netns, op.dev, op.mac, op.dst);
    case 'sysctl-set':
      return kernel.sysctlSet(op.netns, op.key, op.value);
  }
}

/**
 * The op that undoes `op`, or undefined when the op carries too little to undo it (see the
 * module comment). Where an inverse exists, `inverseOf(inverseOf(op))` is `op` again.
 */
export function inverseOf(op: KernelOp): KernelOp | undefined {
  switch (op.kind) {
    case 'netns-add':
      return { kind: 'netns-del', path: op.path };
    case 'link-add':
      // Deleting either end of a veth deletes the pair, wherever the peer went. A link made
      // with `targetNetns` lives there, not where the request ran.
      return { kind: 'link-del', netns: op.link.targetNetns === undefined ? op.netns : op.link.targetNetns, name: op.link.name };
    case 'link-set':
      return inverseOfLinkSet(op);
    case 'addr-add':
      return { ...op, kind: 'addr-del' };
    case 'addr-del':
      return { ...op, kind: 'addr-add' };
    case 'route-add':
      return { ...op, kind: 'route-del' };
    case 'route-del':
      return { ...op, kind: 'route-add' };
    case 'neigh-add':
      return { kind: 'neigh-del', netns: op.netns, dev: op.dev, ip: op.ip };
    case 'fdb-add':
      return { ...op, kind: 'fdb-del' };
    case 'fdb-del':
      return { ...op, kind: 'fdb-add' };
    case 'sysctl-set':
      return op.previous === undefined
        ? undefined
        : { kind: 'sysctl-set', netns: op.netns, key: op.key, value: op.previous, previous: op.value };
    case 'netns-del':
    case 'link-del':
    case 'neigh-del':
      return undefined;
  }
}

type LinkSetOp = Extract<KernelOp, { kind: 'link-set' }>;

/** Restore each changed field from `previous`; undefined if any changed field lacks it. */
function inverseOfLinkSet(op: LinkSetOp): LinkSetOp | undefined {
  const previous = op.previous ?? {};
  const lacksPrevious =
    (op.up !== undefined && previous.up === undefined) ||
    (op.mtu !== undefined && previous.mtu === undefined) ||
    (op.mac !== undefined && previous.mac === undefined) ||
    (op.master !== undefined && previous.master === undefined);
  const changesFields = op.up !== undefined || op.mtu !== undefined || op.mac !== undefined || op.master !== undefined;
  if (lacksPrevious || (!changesFields && op.newName === undefined)) return undefined;
  return {
    kind: 'link-set',
    netns: op.netns,
    name: op.newName ?? op.name,
    ...(op.newName === undefined ? {} : { newName: op.name }),
    ...(op.up === undefined ? {} : { up: previous.up }),
    ...(op.mtu === undefined ? {} : { mtu: previous.mtu }),
    ...(op.mac === undefined ? {} : { mac: previous.mac }),
    ...(op.master === undefined ? {} : { master: previous.master }),
    ...(changesFields
      ? {
          previous: {
            ...(op.up === undefined ? {} : { up: op.up }),
            ...(op.mtu === undefined ? {} : { mtu: op.mtu }),
            ...(op.mac === undefined ? {} : { mac: op.mac }),
            ...(op.master === undefined ? {} : { master: op.master }),
          },
        }
      : {}),
  };
}

/**
 * Run `ops` in order. If one fails, undo the ones that succeeded (inverses, newest first) and
 * rethrow the original error. If an undo step fails too, the kernel is left half-changed: the
 * error thrown is then a `TeardownError` listing the original error first, then every undo
 * failure (all undo steps still run).
 */
export function applyAll(kernel: Kernel, ops: readonly KernelOp[]): void {
  const applied: KernelOp[] = [];
  for (const op of ops) {
    try {
      applyOp(kernel, op);
    } catch (err) {
      const undoErrors = undoAll(kernel, applied);
      if (undoErrors.length === 0) throw err;
      throw new TeardownError(`undo after failed ${describeOp(op)}`, [asError(err), ...undoErrors]);
    }
    applied.push(op);
  }
}

/**
 * `applyAll`, with link deletes off the main thread (`Kernel.linkDelAsync`): for plans whose
 * deletes would otherwise stall the event loop on the kernel's RCU wait (network rm, disconnect).
 */
export async function applyAllAsync(kernel: Kernel, ops: readonly KernelOp[]): Promise<void> {
  const applied: KernelOp[] = [];
  for (const op of ops) {
    try {
      if (op.kind === 'link-del') await kernel.linkDelAsync(op.netns, op.name, op.onlyIfAlias);
      else applyOp(kernel, op);
    } catch (err) {
      const undoErrors = undoAll(kernel, applied);
      if (undoErrors.length === 0) throw err;
      throw new TeardownError(`undo after failed ${describeOp(op)}`, [asError(err), ...undoErrors]);
    }
    applied.push(op);
  }
}

/**
 * Undo `applied` (ops that succeeded, in the order they ran): their inverses, newest first.
 * Every step runs; the failures are returned. Ops without an inverse are skipped.
 */
export function undoAll(kernel: Kernel, applied: readonly KernelOp[]): Error[] {
  const errors: Error[] = [];
  for (const op of [...applied].reverse()) {
    const inverse = inverseOf(op);
    if (inverse === undefined) continue;
    try {
      applyOp(kernel, inverse);
    } catch (err) {
      errors.push(asError(err));
    }
  }
  return errors;
}

/** A short human description: `link-add br-1a2b`, `addr-add 10.0.0.1/24 dev eth0`. */
export function describeOp(op: KernelOp): string {
  switch (op.kind) {
    case 'netns-add':
    case 'netns-del':
      return `${op.kind} ${op.path}`;
    case 'link-add':
      return `link-add ${op.link.name}`;
    case 'link-del':
    case 'link-set':
      return `${op.kind} ${op.name}`;
    case 'addr-add':
    case 'addr-del':
      return `${op.kind} ${op.cidr} dev ${op.dev}`;
    case 'route-add':
    case 'route-del':
      return [op.kind, op.dst, op.via === undefined ? '' : `via ${op.via}`, op.dev === undefined ? '' : `dev ${op.dev}`]
        .filter((part) => part !== '')
        .join(' ');
    case 'neigh-add':
      return `neigh-add ${op.ip} lladdr ${op.mac} dev ${op.dev}`;
    case 'neigh-del':
      return `neigh-del ${op.ip} dev ${op.dev}`;
    case 'fdb-add':
    case 'fdb-del':
      return `${op.kind} ${op.mac} dev ${op.dev} dst ${op.dst}`;
    case 'sysctl-set':
      return `sysctl-set ${op.key}=${op.value}`;
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
