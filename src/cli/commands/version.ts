/**
 * `berth version`: the client's version and the daemon's `GET /version`, laid out like
 * `docker version` (a Go template through tabwriter with minwidth 20, padding 1; the Engine
 * component's build time shown in `time.ANSIC`). `-f/--format` runs a custom template (or
 * `json`) on `{Client, Server}`, whose fields have the docker CLI's Go names
 * (`{{.Server.Version}}`, `{{.Client.APIVersion}}`).
 */
import os from 'node:os';
import { type Command, StatusError } from '../command.js';
import { API_VERSION } from '../client.js';
import { parseTemplate } from '../formatter.js';
import { TemplateExecError } from '../go-template.js';
import {
  type GoField,
  type GoValue,
  T,
  decodeTyped,
  parseRfc3339,
  plainToJsonNode,
  timeAnsic,
} from '../go-value.js';
import { tabwrite } from '../tabwriter.js';
import { INSPECT_FORMAT_HELP } from './network.js';
import { berthVersion } from '../version-info.js';

const f = (name: string, type: GoField['type'], json = name, omitempty = false): GoField => ({ name, json, type, omitempty });
const Platform = T.struct('struct { Name string }', [f('Name', T.string)]);

/** berth's client half of `version` (the docker CLI's `clientVersion`, with Node instead of Go). */
const ClientVersion = T.struct('system.clientVersion', [
  f('Platform', T.ptr(Platform), 'Platform', true),
  f('Version', T.string),
  f('APIVersion', T.string, 'ApiVersion'),
  f('DefaultAPIVersion', T.string, 'DefaultAPIVersion', true),
  f('NodeVersion', T.string),
  f('Os', T.string),
  f('Arch', T.string),
  f('Context', T.string),
]);

/** `types.ComponentVersion`. */
const ComponentVersion = T.struct('types.ComponentVersion', [
  f('Name', T.string),
  f('Version', T.string),
  f('Details', T.map(T.string), 'Details', true),
]);

/** `types.Version` (the body of `GET /version`). */
const ServerVersion = T.struct('types.Version', [
  f('Platform', Platform),
  f('Components', T.slice(ComponentVersion), 'Components', true),
  f('Version', T.string),
  f('APIVersion', T.string, 'ApiVersion'),
  f('MinAPIVersion', T.string, 'MinAPIVersion', true),
  f('GitCommit', T.string),
  f('GoVersion', T.string),
  f('Os', T.string),
  f('Arch', T.string),
  f('KernelVersion', T.string, 'KernelVersion', true),
  f('Experimental', T.bool, 'Experimental', true),
  f('BuildTime', T.string, 'BuildTime', true),
]);

const VersionInfo = T.struct('system.versionInfo', [
  f('Client', T.ptr(ClientVersion)),
  f('Server', T.ptr(ServerVersion)),
]);

const DEFAULT_TEMPLATE = `{{with .Client -}}
Client:{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}
 Version:\t{{.Version}}
 API version:\t{{.APIVersion}}
 Node.js version:\t{{.NodeVersion}}
 OS/Arch:\t{{.Os}}/{{.Arch}}
 Context:\t{{.Context}}
{{- end}}

{{- with .Server}}

Server:{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}
 {{- range $component := .Components}}
 {{$component.Name}}:
  {{- if eq $component.Name "Engine" }}
  Version:\t{{.Version}}
  API version:\t{{index .Details "ApiVersion"}} (minimum version {{index .Details "MinAPIVersion"}})
  Go version:\t{{index .Details "GoVersion"}}
  Git commit:\t{{index .Details "GitCommit"}}
  Built:\t{{index .Details "BuildTime"}}
  OS/Arch:\t{{index .Details "Os"}}/{{index .Details "Arch"}}
  Experimental:\t{{index .Details "Experimental"}}
  {{- else }}
  Version:\t{{$component.Version}}
  {{- range $key, $value := .Details}}
  {{$key}}:\t{{$value}}
  {{- end}}
  {{- end}}
 {{- end}}
{{- end}}`;

/** The docker CLI's `reformatDate`: RFC 3339 → `time.ANSIC`, anything else unchanged. */
function reformatDate(s: string): string {
  const t = parseRfc3339(s);
  return t === null ? s : timeAnsic(t);
}

/** Node's `process.arch` in Go's `GOARCH` spelling. */
function goArch(): string {
  const map: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' };
  return map[process.arch] ?? process.arch;
}

export const versionCommand: Command = {
  name: 'version',
  usage: '[OPTIONS]',
  short: 'Show the berth version information',
  flags: [{ name: 'format', short: 'f', kind: 'string', usage: INSPECT_FORMAT_HELP }],
  args: { kind: 'none' },
  async run(ctx) {
    const format = ctx.flags.string('format');
    const tmpl = parseTemplate(format === '' ? DEFAULT_TEMPLATE : format === 'json' ? '{{json .}}' : format);
    let server: unknown = null;
    let serverError: unknown = null;
    try {
      const body = await ctx.client().call('GET', '/version');
      const parsed = JSON.parse(body) as Record<string, unknown>;
      const components = Array.isArray(parsed['Components']) ? (parsed['Components'] as Array<Record<string, unknown>>) : [];
      const engine = components.find((c) => c['Name'] === 'Engine');
      if (engine !== undefined) {
        const details = (engine['Details'] ?? {}) as Record<string, unknown>;
        if (typeof details['BuildTime'] === 'string') details['BuildTime'] = reformatDate(details['BuildTime']);
      } else {
        components.push({
          Name: 'Engine',
          Version: parsed['Version'],
          Details: {
            ApiVersion: parsed['ApiVersion'],
            MinAPIVersion: parsed['MinAPIVersion'],
            GitCommit: parsed['GitCommit'],
            GoVersion: parsed['GoVersion'],
            Os: parsed['Os'],
            Arch: parsed['Arch'],
            BuildTime: reformatDate(String(parsed['BuildTime'] ?? '')),
            Experimental: String(parsed['Experimental'] === true),
          },
        });
        parsed['Components'] = components;
      }
      server = parsed;
    } catch (e) {
      if (!(e instanceof StatusError)) throw e;
      serverError = e;
    }
    const data: GoValue = decodeTyped(
      VersionInfo,
      plainToJsonNode({
        Client: {
          Platform: { Name: '' },
          Version: berthVersion(),
          ApiVersion: API_VERSION,
          DefaultAPIVersion: API_VERSION,
          NodeVersion: process.version,
          Os: os.platform(),
          Arch: goArch(),
          Context: 'default',
        },
        Server: server,
      }),
    );
    let out: string;
    try {
      out = tmpl.execute(data);
    } catch (e) {
      if (e instanceof TemplateExecError) throw new StatusError(`template parsing error: ${e.message}`, 1, { cause: e });
      throw e;
    }
    ctx.io.stdout.write(tabwrite(out + '\n', { minwidth: 20, padding: 1 }));
    if (serverError !== null) throw serverError;
  },
};
