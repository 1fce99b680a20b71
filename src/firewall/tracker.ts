/**
 * Follows the model from one snapshot to the next and says which elements of the ruleset change,
 * at a cost proportional to what changed: rendering the whole model again costs ~35 ms at 10,000
 * published ports, too much for every container start.
 *
 * How changes are found: the controllers keep unchanged model objects by reference and keep
 * their order (Map insertion order: updates in place, new ones appended, removals closing up),
 * so a two-pointer walk over the previous and the new arrays, comparing references, finds the
 * changed, added and removed containers and endpoints (a few µs per thousand); anything that
 * breaks those assumptions only makes more containers "changed", never a wrong result. Networks
 * are few: any change to them recomputes the network elements. Only the containers touched are
 * recomputed, and their elements replaced.
 *
 * The result always equals `renderRuleset(firewallStateOf(snapshot, published))` (a unit test
 * checks this over a sequence of changes).
 */
import type { ModelSnapshot } from '../engine/observers.js';
import type { Attachment } from '../engine/sandbox.js';
import type { Container, Endpoint } from '../model/container.js';
import type { Network } from '../model/network.js';
import type { PublishedPort } from './ports.js';
import {
  bridgeRulesOf,
  emptyElements,
  networkElements,
  portElement,
  portMappingsOf,
  putPort,
  renderElements,
  STRUCTURE,
  type Elements,
  type MapElement,
  type PortMapName,
  type Ruleset,
} from './render.js';

/** What `update` found. */
export interface TrackedChange {
  /** The element changes as an nft script (deletes, then adds); '' when nothing changed. */
  readonly script: string;
  /** Containers whose elements were recomputed. */
  readonly containersTouched: number;
}

/** One port element a container holds. */
interface Held {
  readonly map: PortMapName;
  readonly element: MapElement;
}

export class RulesetTracker {
  #networks: readonly Network[] = [];
  #containers: readonly Container[] = [];
  #endpoints: readonly Endpoint[] = [];
  readonly #containerById = new Map<string, Container>();
  readonly #endpointsOf = new Map<string, Endpoint[]>();
  readonly #networkById = new Map<string, Network>();
  /** Every element, as the kernel should have it. */
  readonly #elements: Elements = emptyElements();
  /** Port elements by owning container. */
  readonly #held = new Map<string, Held[]>();
  /** Element changes found by `observe` (networks), completed by `update`. */
  #del: Elements = emptyElements();
  #add: Elements = emptyElements();
  #touched = new Set<string>();

  /** The whole ruleset the model implies now (for a replace of the tables). */
  get ruleset(): Ruleset {
    return { structure: STRUCTURE, elements: this.#elements };
  }

  /**
   * The endpoints of a container in `endpoints` (a newer snapshot's), without walking them all
   * when possible: if the last endpoint seen at the last `observe` is still at its index,
   * nothing before it was removed (Map order: updates in place, appends at the end), so the
   * container's endpoints are those indexed then plus any appended since.
   */
  endpointsIn(containerId: string, endpoints: readonly Endpoint[]): Endpoint[] {
    const prev = this.#endpoints;
    const n = prev.length;
    if (n === 0 || endpoints.length < n || endpoints[n - 1] !== prev[n - 1]) {
      return endpoints.filter((e) => e.containerId === containerId);
    }
    const out = [...(this.#endpointsOf.get(containerId) ?? [])];
    for (let i = n; i < endpoints.length; i++) {
      const e = endpoints[i] as Endpoint;
      if (e.containerId === containerId) out.push(e);
    }
    return out;
  }

  /** A container of the last observed snapshot. */
  container(id: string): Container | undefined {
    return this.#containerById.get(id);
  }

  /**
   * Step 1: moves to `snapshot` and returns the containers that changed, came or went (with
   * their endpoints). The caller settles their published ports, then calls `update`.
   */
  observe(snapshot: ModelSnapshot): ReadonlySet<string> {
    const touched = this.#touched;
    // Networks: recompute their elements when any changed (few; create/remove only).
    if (!sameRefs(this.#networks, snapshot.networks)) {
      const changed = new Set<string>();
      const before = new Map(this.#networkById);
      this.#networkById.clear();
      for (const n of snapshot.networks) {
        this.#networkById.set(n.id, n);
        if (before.get(n.id) !== n) changed.add(n.id);
      }
      for (const id of before.keys()) if (!this.#networkById.has(id)) changed.add(id);
      // A container's targets depend on its networks (the gateway choice).
      for (const [cid, eps] of this.#endpointsOf) if (eps.some((e) => changed.has(e.networkId))) touched.add(cid);
      const bridges = snapshot.networks.filter((n) => n.driver === 'bridge').map(bridgeRulesOf);
      for (const [name, m] of networkElements(bridges)) {
        if (name.startsWith('pub')) continue;
        diffInto(this.#elements.get(name) as Map<string, MapElement>, m, this.#del.get(name) as Map<string, MapElement>, this.#add.get(name) as Map<string, MapElement>);
        this.#elements.set(name, m);
      }
      this.#networks = snapshot.networks;
    }
    walk(this.#containers, snapshot.containers, (c) => {
      touched.add(c.id);
      this.#containerById.delete(c.id);
    }, (c) => {
      touched.add(c.id);
      this.#containerById.set(c.id, c);
    });
    this.#containers = snapshot.containers;
    walk(this.#endpoints, snapshot.endpoints, (e) => {
      touched.add(e.containerId);
      const list = (this.#endpointsOf.get(e.containerId) ?? []).filter((x) => x.id !== e.id);
      if (list.length === 0) this.#endpointsOf.delete(e.containerId);
      else this.#endpointsOf.set(e.containerId, list);
    }, (e) => {
      touched.add(e.containerId);
      const list = (this.#endpointsOf.get(e.containerId) ?? []).filter((x) => x.id !== e.id);
      list.push(e);
      list.sort((a, b) => a.order - b.order);
      this.#endpointsOf.set(e.containerId, list);
    });
    this.#endpoints = snapshot.endpoints;
    return touched;
  }

  /**
   * Step 2: recomputes the port elements of the observed containers and of `alsoTouched` (whose
   * published ports changed) from `published`, and returns every element change since the last
   * update. Old elements all go first, then the new ones come: a port passing from one
   * container to another in one change is not lost to the "first owner keeps it" rule.
   */
  update(published: ReadonlyMap<string, readonly PublishedPort[]>, alsoTouched: Iterable<string> = []): TrackedChange {
    const touched = this.#touched;
    for (const id of alsoTouched) touched.add(id);
    const del = this.#del;
    const add = this.#add;
    for (const id of touched) {
      for (const h of this.#held.get(id) ?? []) {
        const m = this.#elements.get(h.map) as Map<string, MapElement>;
        if (m.get(h.element.key) !== h.element) continue;
        m.delete(h.element.key);
        (del.get(h.map) as Map<string, MapElement>).set(h.element.key, h.element);
      }
      this.#held.delete(id);
    }
    for (const id of touched) {
      const c = this.#containerById.get(id);
      const pub = published.get(id);
      if (c === undefined || pub === undefined) continue;
      const attachments: Attachment[] = [];
      for (const e of this.#endpointsOf.get(id) ?? []) {
        const network = this.#networkById.get(e.networkId);
        if (network !== undefined) attachments.push({ network, endpoint: e });
      }
      const held: Held[] = [];
      for (const p of portMappingsOf(c, attachments, pub)) {
        if (!putPort(this.#elements, p)) continue;
        const { map } = portElement(p);
        const stored = (this.#elements.get(map) as Map<string, MapElement>).get(portElement(p).element.key) as MapElement;
        held.push({ map, element: stored });
        // Deleted and added back unchanged: no change at all.
        const d = del.get(map) as Map<string, MapElement>;
        const removed = d.get(stored.key);
        if (removed !== undefined && removed.value === stored.value && removed.comment === stored.comment) d.delete(stored.key);
        else (add.get(map) as Map<string, MapElement>).set(stored.key, stored);
      }
      if (held.length > 0) this.#held.set(id, held);
    }
    const script = renderElements('delete', onlyNonEmpty(del)) + renderElements('add', onlyNonEmpty(add));
    const n = touched.size;
    this.#del = emptyElements();
    this.#add = emptyElements();
    this.#touched = new Set();
    return { script, containersTouched: n };
  }
}

function onlyNonEmpty(e: Elements): Elements {
  const out: Elements = new Map();
  for (const [k, m] of e) if (m.size > 0) out.set(k, m);
  return out;
}

/** True when both arrays hold the same objects in the same order. */
function sameRefs<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Two-pointer walk of `prev` → `next` (objects with ids): `gone` for each object no longer
 * there (or replaced), `came` for each new or replaced one. Relies on the order being kept;
 * when it is not, objects are reported gone and come again, which is still right.
 */
function walk<T extends { readonly id: string }>(prev: readonly T[], next: readonly T[], gone: (x: T) => void, came: (x: T) => void): void {
  let i = 0;
  let j = 0;
  while (i < prev.length && j < next.length) {
    const p = prev[i] as T;
    const n = next[j] as T;
    if (p === n) {
      i++;
      j++;
    } else if (p.id === n.id) {
      gone(p);
      came(n);
      i++;
      j++;
    } else {
      // p was removed (or moved: then it comes again below, as new).
      gone(p);
      i++;
    }
  }
  for (; i < prev.length; i++) gone(prev[i] as T);
  for (; j < next.length; j++) came(next[j] as T);
}

/** Differences between two element maps of one collection, into `del`/`add`. */
function diffInto(before: Map<string, MapElement>, after: Map<string, MapElement>, del: Map<string, MapElement>, add: Map<string, MapElement>): void {
  for (const [k, e] of before) {
    const now = after.get(k);
    if (now === undefined || now.value !== e.value || now.comment !== e.comment) del.set(k, e);
  }
  for (const [k, e] of after) {
    const was = before.get(k);
    if (was === undefined || was.value !== e.value || was.comment !== e.comment) add.set(k, e);
  }
}
