/**
 * Where a running container's resolved ports live: `<root>/containers/<id>/published-ports.json`,
 * written once when it starts (before its sandbox exists) and read back after a daemon restart
 * and by `docker inspect`/`ps`. It is the only record of what an ephemeral or ranged request was
 * resolved to; which ports are taken is derived from it for running containers only, so a
 * container that stopped — or whose start failed after the file was written — holds nothing.
 * The file goes with the container's directory when it is removed.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Container } from '../model/container.js';
import { containerDir } from '../runtime/layers.js';
import type { PublishedPort } from './ports.js';

const FILE = 'published-ports.json';

/** Durable per-container resolutions. */
export interface PortRecords {
  /** The recorded resolution, or undefined when there is none (or it is unreadable). */
  read(containerId: string): readonly PublishedPort[] | undefined;
  write(containerId: string, ports: readonly PublishedPort[]): void;
}

/** Records as files in the containers' directories under `root`. */
export class FilePortRecords implements PortRecords {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  read(containerId: string): readonly PublishedPort[] | undefined {
    return readPublishedPorts(this.#root, containerId);
  }

  write(containerId: string, ports: readonly PublishedPort[]): void {
    const dir = containerDir(this.#root, containerId);
    fs.mkdirSync(dir, { recursive: true, mode: 0o711 });
    const file = path.join(dir, FILE);
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(ports)}\n`, { mode: 0o644 });
    fs.renameSync(tmp, file);
  }
}

/** In memory (unit tests, benchmarks). */
export class MemoryPortRecords implements PortRecords {
  readonly #m = new Map<string, readonly PublishedPort[]>();

  read(containerId: string): readonly PublishedPort[] | undefined {
    return this.#m.get(containerId);
  }

  write(containerId: string, ports: readonly PublishedPort[]): void {
    this.#m.set(containerId, ports);
  }
}

/** The recorded resolution of a container under `root`, or undefined. */
export function readPublishedPorts(root: string, containerId: string): readonly PublishedPort[] | undefined {
  try {
    const text = fs.readFileSync(path.join(containerDir(root, containerId), FILE), 'utf8');
    const parsed = JSON.parse(text) as unknown;
    return Array.isArray(parsed) ? (parsed as PublishedPort[]) : undefined;
  } catch {
    return undefined;
  }
}

/** What a container publishes right now, for the API: nothing unless it runs. */
export function publishedPortsOf(root: string, c: Container): readonly PublishedPort[] {
  if (c.state.status !== 'running') return [];
  return readPublishedPorts(root, c.id) ?? [];
}
