/**
 * The Go template engine, table-driven. Expected outputs and error texts are what the docker
 * CLI 28.2.2 printed for `docker network inspect -f '<template>'` on the same data (typed
 * network.Inspect first, raw-map fallback with missingkey=error second — see runLikeInspect).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EndpointSettings, NetworkInspect } from '../../../src/cli/docker-types.js';
import { parseJsonText } from '../../../src/cli/go-json.js';
import { GoTemplate, TemplateExecError, TemplateParseError } from '../../../src/cli/go-template.js';
import {
  type GoValue,
  T,
  decodeDynamic,
  decodeTyped,
  encodeJson,
  formatValue,
  plainToJsonNode,
} from '../../../src/cli/go-value.js';

const NET10 = {
  Name: 'net10',
  Id: 'aaaa46383f4aaaabbbbccccddddeeeeffff0000111122223333444455556666',
  Created: '2024-05-01T09:00:00Z',
  Scope: 'local',
  Driver: 'bridge',
  EnableIPv4: true,
  EnableIPv6: true,
  IPAM: {
    Driver: 'default',
    Options: null,
    Config: [{ Subnet: '10.1.0.0/24', Gateway: '10.1.0.1', AuxiliaryAddresses: { host1: '10.1.0.5', a: '10.1.0.6' } }],
  },
  Internal: true,
  Attachable: false,
  Ingress: false,
  ConfigFrom: { Network: '' },
  ConfigOnly: false,
  Containers: {},
  Options: {},
  Labels: { x: 'y' },
};

/** What `docker network inspect -f` does: typed struct first, raw map with missingkey=error on failure. */
function runLikeInspect(src: string, data: unknown = NET10): string {
  let tmpl: GoTemplate;
  try {
    tmpl = GoTemplate.parse(src);
  } catch (e) {
    if (e instanceof TemplateParseError) return `PARSE: ${e.message}`;
    throw e;
  }
  const node = plainToJsonNode(data);
  try {
    return tmpl.execute(decodeTyped(NetworkInspect, node));
  } catch (e) {
    if (!(e instanceof TemplateExecError)) throw e;
  }
  try {
    return tmpl.execute(decodeDynamic(node), { missingKeyError: true });
  } catch (e) {
    if (e instanceof TemplateExecError) return `EXEC: ${e.message}`;
    throw e;
  }
}

const CASES: ReadonlyArray<readonly [string, string]> = [
  // Go's %v of Docker structs: the IPAMConfig case from the brief, maps sorted, empty struct, nil slice.
  ['{{.IPAM.Config}}', '[{10.1.0.0/24  10.1.0.1 map[a:10.1.0.6 host1:10.1.0.5]}]'],
  ['{{.IPAM}}', '{default map[] [{10.1.0.0/24  10.1.0.1 map[a:10.1.0.6 host1:10.1.0.5]}]}'],
  ['{{.ConfigFrom}}|{{.Peers}}|{{.Services}}|{{.Containers}}', '{}|[]|map[]|map[]'],
  ['{{.Created}}', '2024-05-01 09:00:00 +0000 UTC'],
  ['{{.Created.Year}} {{.Created.Unix}}', '2024 1714554000'],
  // Fields, map keys as fields, missing keys.
  ['{{.Labels.x}}', 'y'],
  ['{{.Labels.nope}}', '<no value>'],
  ['{{index .Options "com.docker.network.bridge.name"}}|{{index .Labels "x"}}|{{index .Labels "nope"}}', '|y|'],
  // Control structures.
  ['{{range .IPAM.Config}}{{.Subnet}} gw={{.Gateway}};{{end}}', '10.1.0.0/24 gw=10.1.0.1;'],
  ['{{range $k, $v := .Labels}}{{$k}}={{$v}},{{end}}', 'x=y,'],
  ['{{range $i, $c := .IPAM.Config}}{{$i}}:{{$c.Subnet}}{{end}}', '0:10.1.0.0/24'],
  ['{{range .IPAM.Config}}{{range $k,$v := .AuxAddress}}{{$k}}->{{$v}} {{end}}{{end}}', 'a->10.1.0.6 host1->10.1.0.5 '],
  ['{{range .Peers}}x{{else}}none{{end}}', 'none'],
  ['{{range 3}}{{.}}{{end}}', '012'],
  ['{{range .IPAM.Config}}{{break}}{{end}}ok', 'ok'],
  ['{{if .Internal}}internal{{else}}external{{end}}', 'internal'],
  ['{{if eq .Driver "bridge"}}br{{else if eq .Driver "host"}}h{{end}}', 'br'],
  ['{{with .IPAM}}{{.Driver}}{{end}}{{with .Peers}}peers{{else}}nopeers{{end}}', 'defaultnopeers'],
  ['{{$n := .Name}}{{range .IPAM.Config}}{{$n}}:{{.Subnet}}{{end}}{{$.Name}}', 'net10:10.1.0.0/24net10'],
  ['{{define "x"}}y{{end}}{{template "x"}}', 'y'],
  // Functions: docker's and Go's.
  [
    '{{json .Labels}} {{.Labels | json}} {{upper .Name}} {{lower "ABC"}} {{title "hello world-foo_bar"}} {{len .Labels}} {{len .IPAM.Config}}',
    '{"x":"y"} {"x":"y"} NET10 abc Hello World-Foo_bar 1 1',
  ],
  ['{{json .IPAM}}', '{"Driver":"default","Options":null,"Config":[{"Subnet":"10.1.0.0/24","Gateway":"10.1.0.1","AuxiliaryAddresses":{"a":"10.1.0.6","host1":"10.1.0.5"}}]}'],
  ['{{join (split "a,b,c" ",") "|"}} {{pad .Name 2 3}}| {{truncate .Name 3}}', 'a|b|c   net10   | net'],
  ['{{println .Name}}{{println "a" 1 2 "b"}}{{print "a" 1 2 "b"}}{{print 1 2}}', 'net10\na 1 2 b\na1 2b1 2'],
  ['{{.IPAM.Config | len}} {{and .Internal .Name}} {{or .Attachable "dflt"}} {{not .Internal}}', '1 net10 dflt false'],
  ['{{.Name | printf "%s!"}} {{"x" | printf "%s-%s" "y"}}', 'net10! y-x'],
  [
    '{{printf "%s-%d-%v-%q-%5s|%-5s|%t" .Name 42 .IPAM.Config .Name "ab" "cd" true}}',
    'net10-42-[{10.1.0.0/24  10.1.0.1 map[a:10.1.0.6 host1:10.1.0.5]}]-"net10"-   ab|cd   |true',
  ],
  ['{{printf "%d %s %v %x" "a" 5 .Name "hi"}}|{{printf "%s"}}|{{printf "%s" 1 2}}', '%!d(string=a) %!s(int=5) net10 6869|%!s(MISSING)|%!s(int=1)%!(EXTRA int=2)'],
  [
    '{{printf "%+v" .IPAM}}|{{printf "%T" .IPAM}}|{{printf "%q" .Labels}}',
    '{Driver:default Options:map[] Config:[{Subnet:10.1.0.0/24 IPRange: Gateway:10.1.0.1 AuxAddress:map[a:10.1.0.6 host1:10.1.0.5]}]}|network.IPAM|map["x":"y"]',
  ],
  ['{{index .IPAM.Config 0}} {{(index .IPAM.Config 0).Subnet}}', '{10.1.0.0/24  10.1.0.1 map[a:10.1.0.6 host1:10.1.0.5]} 10.1.0.0/24'],
  ['{{lt 1 2}} {{eq .Scope "local" "x"}} {{ne 1 2}} {{ge 2 2}}', 'true true true true'],
  // Trim markers, comments, literals.
  ['a  {{- .Name -}}  b {{- /* comment */ -}} c', 'anet10bc'],
  ['{{ .Name }}{{"\\t"}}{{`raw\\t`}}', 'net10\traw\\t'],
  // The raw fallback: JSON names and Go's map printing of interface{} values.
  [
    '{{.Id}} {{print .IPAM.Options}} {{index . "nope"}} {{printf "%v" .Labels}} {{len .}}',
    'aaaa46383f4aaaabbbbccccddddeeeeffff0000111122223333444455556666 <nil> <no value> map[x:y] 16',
  ],
  ['{{.Id}} {{.IPAM}}', 'aaaa46383f4aaaabbbbccccddddeeeeffff0000111122223333444455556666 map[Config:[map[AuxiliaryAddresses:map[a:10.1.0.6 host1:10.1.0.5] Gateway:10.1.0.1 Subnet:10.1.0.0/24]] Driver:default Options:<nil>]'],
  // Parse errors.
  ['{{.Name', 'PARSE: template: :1: unclosed action'],
  ['{{foo .Name}}', 'PARSE: template: :1: function "foo" not defined'],
  ['{{end}}', 'PARSE: template: :1: unexpected {{end}}'],
  ['{{if .Name}}x', 'PARSE: template: :1: unexpected EOF'],
  ['{{break}}', 'PARSE: template: :1: {{break}} outside {{range}}'],
  // Execution errors (after the raw fallback, as docker reports them).
  ['{{.Containers.nope}}|{{.Labels.nope}}|{{.IPAM.Config.nope}}', 'EXEC: template: :1:13: executing "" at <.Containers.nope>: map has no entry for key "nope"'],
  ['{{index .IPAM.Config 5}}', 'EXEC: template: :1:2: executing "" at <index .IPAM.Config 5>: error calling index: index out of range: 5'],
  ['{{template "x"}}', 'EXEC: template: :1:11: executing "" at <{{template "x"}}>: template "x" not defined'],
  ['{{.Id}}{{.IPAM.Options.x}}', 'EXEC: template: :1:14: executing "" at <.IPAM.Options.x>: nil pointer evaluating interface {}.x'],
  ['{{.Id}}{{.IPAM.Driver.x}}', 'EXEC: template: :1:14: executing "" at <.IPAM.Driver.x>: can\'t evaluate field x in type interface {}'],
  ['{{upper .Internal}}', 'EXEC: template: :1:8: executing "" at <.Internal>: wrong type for value; expected string; got bool'],
  ['{{.Name "x"}}', 'EXEC: template: :1:2: executing "" at <.Name>: Name is not a method but has arguments'],
  ['{{join .Labels ","}}', 'EXEC: template: :1:7: executing "" at <.Labels>: wrong type for value; expected []string; got map[string]interface {}'],
  ['{{eq .Internal "x"}}', 'EXEC: template: :1:2: executing "" at <eq .Internal "x">: error calling eq: incompatible types for comparison'],
];

describe('Go templates as docker network inspect -f runs them', () => {
  for (const [src, want] of CASES) {
    it(src, () => assert.equal(runLikeInspect(src), want));
  }

  it('prints the whole Go struct with {{.}}', () => {
    assert.equal(
      runLikeInspect('{{.}}'),
      '{net10 aaaa46383f4aaaabbbbccccddddeeeeffff0000111122223333444455556666 2024-05-01 09:00:00 +0000 UTC local bridge true true ' +
        '{default map[] [{10.1.0.0/24  10.1.0.1 map[a:10.1.0.6 host1:10.1.0.5]}]} true false false {} false map[] map[] map[x:y] [] map[]}',
    );
  });
});

describe('seed 004: {{.NetworkSettings.Networks.personal.IPAddress}}', () => {
  const container = {
    Name: '/mybox1_personal',
    NetworkSettings: {
      IPAddress: '',
      Networks: {
        personal: {
          IPAMConfig: null,
          Links: null,
          Aliases: ['dbd364cd7d9f'],
          NetworkID: '93e6e22b983d6a92db3e86b1a05be1006c3926be008123b45cad96487368aef4',
          EndpointID: 'b93c896084be44552e04d2364d155e19af3f307fb8d9aa04872cd27e8bbf5e9a',
          Gateway: '172.21.0.1',
          IPAddress: '172.21.240.1',
          IPPrefixLen: 16,
          MacAddress: '02:42:ac:15:f0:01',
          DriverOpts: null,
        },
      },
    },
  };
  const tmpl = GoTemplate.parse('{{.NetworkSettings.Networks.personal.IPAddress}}');

  it('reads map keys as fields on raw JSON', () => {
    assert.equal(tmpl.execute(decodeDynamic(plainToJsonNode(container))), '172.21.240.1');
  });

  it('and on a typed struct with *EndpointSettings values', () => {
    const Container = T.struct('container.InspectResponse', [
      { name: 'Name', json: 'Name', type: T.string },
      {
        name: 'NetworkSettings',
        json: 'NetworkSettings',
        type: T.ptr(
          T.struct('container.NetworkSettings', [
            { name: 'IPAddress', json: 'IPAddress', type: T.string },
            { name: 'Networks', json: 'Networks', type: T.map(T.ptr(EndpointSettings)) },
          ]),
        ),
      },
    ]);
    const typed = decodeTyped(Container, plainToJsonNode(container));
    assert.equal(tmpl.execute(typed), '172.21.240.1');
    assert.equal(GoTemplate.parse('{{.NetworkSettings.IPAddress}}').execute(typed), '');
    assert.equal(GoTemplate.parse('{{.NetworkSettings.Networks.nope.IPAddress}}').execute(typed), '<no value>');
    assert.equal(GoTemplate.parse('{{.NetworkSettings.Networks.personal.IPAMConfig}}').execute(typed), '<nil>');
    assert.equal(GoTemplate.parse('{{.NetworkSettings.Networks.personal.Aliases}}').execute(typed), '[dbd364cd7d9f]');
    // Nested pointers print as an address in Go; berth prints a fixed one.
    assert.equal(GoTemplate.parse('{{.NetworkSettings.Networks}}').execute(typed), 'map[personal:0xc000010000]');
    assert.match(
      GoTemplate.parse('{{json .NetworkSettings.Networks.personal}}').execute(typed),
      /^\{"IPAMConfig":null,"Links":null,"Aliases":\["dbd364cd7d9f"\],"MacAddress":"02:42:ac:15:f0:01","DriverOpts":null,"GwPriority":0,/,
    );
  });
});

describe('Go value printing', () => {
  const v = (t: Parameters<typeof decodeTyped>[0], json: string): GoValue => decodeTyped(t, parseJsonText(json));

  it('prints nil and empty values as Go does', () => {
    assert.equal(formatValue(v(T.map(T.string), 'null')), 'map[]');
    assert.equal(formatValue(v(T.slice(T.string), 'null')), '[]');
    assert.equal(formatValue(v(T.ptr(T.string), 'null')), '<nil>');
    assert.equal(formatValue(decodeDynamic(parseJsonText('{"a":null,"b":[1,2.50,"x"],"c":{}}'))), 'map[a:<nil> b:[1 2.50 x] c:map[]]');
  });

  it('encodes JSON as Go does (omitempty, sorted maps, no HTML escaping, literal numbers)', () => {
    assert.equal(encodeJson(v(T.map(T.string), '{"b":"<&>","a":"\\u2028"}')), '{"a":"\\u2028","b":"<&>"}');
    assert.equal(encodeJson(decodeDynamic(parseJsonText('{"n":1.50e3}'))), '{"n":1.50e3}');
  });
});
