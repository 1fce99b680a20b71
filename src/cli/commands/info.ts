/**
 * `berth info` (minimal): the client section and a subset of `docker info`'s server section,
 * printed line by line as the docker CLI's `prettyPrintInfo` does (`fmt.Fprintln` spacing,
 * `units.BytesSize` for memory). Unreachable daemon: the client section, then `ERROR: …` on
 * stderr and `errors pretty printing info`, exit 1 — as Docker.
 *
 * `-f/--format` runs a template on the daemon's `GET /info` JSON (as `map[string]interface{}`)
 * with a `ClientInfo` entry added; unlike Docker there is no typed struct, so absent fields
 * print `<no value>` rather than a zero value.
 */
import { type Command, StatusError } from '../command.js';
import { parseTemplate } from '../formatter.js';
import { type JsonNode, parseJsonText } from '../go-json.js';
import { TemplateExecError } from '../go-template.js';
import { type GoValue, decodeDynamic, plainToJsonNode } from '../go-value.js';
import { berthVersion } from '../version-info.js';
import { INSPECT_FORMAT_HELP } from './network.js';

/** go-units `BytesSize`: binary units, `%.4g`. */
export function bytesSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];
  let size = n;
  let i = 0;
  while (size >= 1024 && i < units.length - 1) {
    size /= 1024;
    i++;
  }
  return `${String(Number(size.toPrecision(4)))}${units[i] as string}`;
}

/** `fmt.Println` of a label and a value: one space between them. */
const line = (label: string, value: unknown): string => `${label} ${formatScalar(value)}\n`;

function formatScalar(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function renderServer(info: Record<string, unknown>): string {
  const get = (k: string): unknown => info[k];
  const nonEmpty = (label: string, k: string): string => {
    const v = get(k);
    return v === undefined || v === null || v === '' ? '' : line(label, v);
  };
  const num = (k: string): number => (typeof get(k) === 'number' ? (get(k) as number) : 0);
  let out = '';
  out += line(' Containers:', num('Containers'));
  out += line('  Running:', num('ContainersRunning'));
  out += line('  Paused:', num('ContainersPaused'));
  out += line('  Stopped:', num('ContainersStopped'));
  out += line(' Images:', num('Images'));
  out += nonEmpty(' Server Version:', 'ServerVersion');
  out += nonEmpty(' Storage Driver:', 'Driver');
  const plugins = (get('Plugins') ?? {}) as Record<string, unknown>;
  const list = (k: string): string => (Array.isArray(plugins[k]) ? (plugins[k] as unknown[]).map(String).join(' ') : '');
  out += ' Plugins:\n';
  out += line('  Network:', list('Network'));
  out += nonEmpty(' Kernel Version:', 'KernelVersion');
  out += nonEmpty(' Operating System:', 'OperatingSystem');
  out += nonEmpty(' OSType:', 'OSType');
  out += nonEmpty(' Architecture:', 'Architecture');
  out += line(' CPUs:', num('NCPU'));
  out += line(' Total Memory:', bytesSize(num('MemTotal')));
  out += nonEmpty(' Name:', 'Name');
  out += nonEmpty(' ID:', 'ID');
  out += line(' Docker Root Dir:', get('DockerRootDir') ?? '');
  out += line(' Debug Mode:', get('Debug') === true);
  const labels = get('Labels');
  if (Array.isArray(labels) && labels.length > 0) out += ' Labels:\n' + labels.map((l) => `  ${String(l)}\n`).join('');
  out += line(' Experimental:', get('ExperimentalBuild') === true);
  out += line(' Live Restore Enabled:', get('LiveRestoreEnabled') === true);
  const pools = get('DefaultAddressPools');
  if (Array.isArray(pools) && pools.length > 0) {
    out += ' Default Address Pools:\n';
    for (const p of pools as Array<Record<string, unknown>>) out += `   Base: ${String(p['Base'])}, Size: ${String(p['Size'])}\n`;
  }
  return out + '\n';
}

export const infoCommand: Command = {
  name: 'info',
  usage: '[OPTIONS]',
  short: 'Display system-wide information',
  flags: [{ name: 'format', short: 'f', kind: 'string', usage: INSPECT_FORMAT_HELP }],
  args: { kind: 'none' },
  async run(ctx) {
    const format = ctx.flags.string('format');
    const clientInfo = { Debug: ctx.debug, Version: berthVersion(), Context: 'default' };
    let infoBody: string | null = null;
    let serverError: StatusError | null = null;
    try {
      infoBody = await ctx.client().call('GET', '/info');
    } catch (e) {
      if (!(e instanceof StatusError)) throw e;
      serverError = e;
    }
    if (format !== '') {
      const tmpl = parseTemplate(format === 'json' ? '{{json .}}' : format);
      if (serverError !== null) ctx.io.stderr.write(serverError.message + '\n');
      const node: JsonNode = infoBody !== null ? parseJsonText(infoBody) : { t: 'obj', entries: [] };
      const entries = node.t === 'obj' ? [...node.entries] : [];
      entries.push(['ClientInfo', plainToJsonNode(clientInfo)]);
      const data: GoValue = decodeDynamic({ t: 'obj', entries });
      try {
        ctx.io.stdout.write(tmpl.execute(data) + '\n');
      } catch (e) {
        if (e instanceof TemplateExecError) throw new StatusError(`template parsing error: ${e.message}`, 1, { cause: e });
        throw e;
      }
      return;
    }
    let out = 'Client:\n';
    out += line(' Version:   ', clientInfo.Version);
    out += line(' Context:   ', clientInfo.Context);
    out += line(' Debug Mode:', clientInfo.Debug);
    out += '\nServer:\n';
    if (infoBody !== null) out += renderServer(JSON.parse(infoBody) as Record<string, unknown>);
    ctx.io.stdout.write(out);
    if (serverError !== null) {
      ctx.io.stderr.write(`ERROR: ${serverError.message}\n`);
      throw new StatusError('errors pretty printing info', 1);
    }
  },
};
