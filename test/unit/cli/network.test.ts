/**
 * `berth network …` against an in-process fake Engine API. Every expected stdout, stderr, exit
 * status and request body below was produced by the real docker CLI 28.2.2 talking to the same
 * fake daemon (with "docker" read as "berth"); differences are called out where Docker's Go map
 * order is random.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import {
  BRIDGE_ID,
  CREATED_ID,
  type FakeEngine,
  type RecordedRequest,
  dockerLikeRoute,
  runCli,
  startFakeEngine,
} from './fake-engine.js';

async function engine(t: TestContext, route = dockerLikeRoute): Promise<FakeEngine> {
  const e = await startFakeEngine(route);
  t.after(() => e.close());
  return e;
}

const lines = (...ls: string[]): string => ls.map((l) => l + '\n').join('');
const only = (reqs: readonly RecordedRequest[]): RecordedRequest => {
  assert.equal(reqs.length, 1, `expected one request, got ${reqs.map((r) => r.method + ' ' + r.url).join(', ')}`);
  return reqs[0] as RecordedRequest;
};

describe('network ls', () => {
  it('prints the default table sorted in natural order, IDs truncated', async (t) => {
    const e = await engine(t);
    const r = await runCli(['network', 'ls'], { host: e.host });
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
    assert.equal(
      r.stdout,
      lines(
        'NETWORK ID     NAME       DRIVER    SCOPE',
        'b22dfcac0219   bridge     bridge    local',
        '8afd246383f4   host       host      local',
        'bbbb46383f4a   net9       bridge    local',
        'aaaa46383f4a   net10      bridge    local',
        '80155bcf6d01   none       null      local',
        '93e6e22b983d   personal   bridge    local',
      ),
    );
    const req = only(e.requests);
    assert.equal(req.method, 'GET');
    assert.equal(req.url, '/v1.48/networks');
  });

  it('--no-trunc widens the ID column; `list` is an alias', async (t) => {
    const e = await engine(t);
    const r = await runCli(['network', 'list', '--no-trunc'], { host: e.host });
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout.split('\n').slice(0, 2).join('\n'),
      'NETWORK ID                                                         NAME       DRIVER    SCOPE\n' +
        'b22dfcac021950145c20dac884e6579908814608d1a9e7d15afb7a8fcfeb6069   bridge     bridge    local',
    );
  });

  it('-q prints IDs only; combined short flags pass filters as Docker encodes them', async (t) => {
    const e = await engine(t);
    const r = await runCli(['network', 'ls', '-qf', 'driver=bridge'], { host: e.host });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, lines('b22dfcac0219', '8afd246383f4', 'bbbb46383f4a', 'aaaa46383f4a', '80155bcf6d01', '93e6e22b983d'));
    assert.equal(only(e.requests).url, '/v1.48/networks?filters=%7B%22driver%22%3A%7B%22bridge%22%3Atrue%7D%7D');
  });

  it('sends every filter (repeated -f/--filter) as one sorted JSON `filters` parameter', async (t) => {
    const e = await engine(t);
    const r = await runCli(
      ['network', 'ls', '-f', 'driver=bridge', '-f', 'name=foo', '--filter', 'label=a=b', '--filter=dangling=true'],
      { host: e.host },
    );
    assert.equal(r.code, 0);
    assert.equal(
      only(e.requests).url,
      '/v1.48/networks?filters=%7B%22dangling%22%3A%7B%22true%22%3Atrue%7D%2C%22driver%22%3A%7B%22bridge%22%3Atrue%7D%2C' +
        '%22label%22%3A%7B%22a%3Db%22%3Atrue%7D%2C%22name%22%3A%7B%22foo%22%3Atrue%7D%7D',
    );
  });

  it('rejects a filter without "=" as a flag error (status 125)', async () => {
    const r = await runCli(['network', 'ls', '-f', 'foo'], { host: 'unix:///nonexistent.sock' });
    assert.equal(r.code, 125);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      'invalid argument "foo" for "-f, --filter" flag: bad format of filter (expected name=value)\n\n' +
        "Usage:  berth network ls [OPTIONS]\n\nRun 'berth network ls --help' for more information\n",
    );
  });

  it('--format json prints one object per network with the context fields, sorted', async (t) => {
    const e = await engine(t);
    const r = await runCli(['network', 'ls', '--format', 'json', '-f', 'name=personal'], { host: e.host });
    assert.equal(r.code, 0);
    // Docker joins labels in Go map order (random); berth sorts them.
    assert.equal(
      r.stdout.split('\n').at(-2),
      '{"CreatedAt":"2024-05-01 10:00:00.123456789 +0000 UTC","Driver":"bridge","ID":"93e6e22b983d","IPv4":"true",' +
        '"IPv6":"false","Internal":"false","Labels":"a=1,b=2","Name":"personal","Scope":"local"}',
    );
  });

  it('table TEMPLATE formats: headers from the header functions, Go time strings', async (t) => {
    const e = await engine(t);
    const r = await runCli(['network', 'ls', '--format', 'table {{.Name}}\\t{{json .Name}}\\t{{.CreatedAt}}'], { host: e.host });
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      lines(
        'NAME       NAME         CREATED AT',
        'bridge     "bridge"     2024-05-01 09:00:00.5 +0000 UTC',
        'host       "host"       2024-05-01 09:00:00 +0200 +0200',
        'net9       "net9"       2024-05-01 09:00:00 +0000 UTC',
        'net10      "net10"      2024-05-01 09:00:00 +0000 UTC',
        'none       "none"       2024-05-01 09:00:00 +0000 UTC',
        'personal   "personal"   2024-05-01 10:00:00.123456789 +0000 UTC',
      ),
    );
  });

  it('custom formats, .Label, raw format', async (t) => {
    const e = await engine(t);
    const custom = await runCli(['network', 'ls', '--format', '{{.Name}} {{.IPv6}} {{.Internal}} {{.Label "x"}}'], { host: e.host });
    assert.equal(
      custom.stdout,
      lines('bridge false false ', 'host false false ', 'net9 false false ', 'net10 true true y', 'none false false ', 'personal false false '),
    );
    const raw = await runCli(['network', 'ls', '--format', 'raw', '-f', 'name=bridge'], { host: e.host });
    assert.equal(raw.stdout.split('\n\n')[0], 'network_id: b22dfcac0219\nname: bridge\ndriver: bridge\nscope: local');
  });

  it('prints only the header for an empty list; -q prints nothing', async (t) => {
    const e = await engine(t, () => ({ status: 200, json: [] }));
    assert.equal((await runCli(['network', 'ls'], { host: e.host })).stdout, 'NETWORK ID   NAME      DRIVER    SCOPE\n');
    assert.equal((await runCli(['network', 'ls', '-q'], { host: e.host })).stdout, '');
  });

  it('reports template errors as Docker does', async (t) => {
    const e = await engine(t);
    const exec = await runCli(['network', 'ls', '--format', '{{.Nope}}'], { host: e.host });
    assert.equal(exec.code, 1);
    assert.equal(
      exec.stderr,
      'template parsing error: template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *network.networkContext\n',
    );
    const parse = await runCli(['network', 'ls', '--format', '{{.Name'], { host: e.host });
    assert.equal(parse.code, 1);
    assert.equal(parse.stderr, 'template parsing error: template: :1: unclosed action\n');
  });

  it('accepts no arguments', async () => {
    const r = await runCli(['network', 'ls', 'extra']);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      "berth: 'berth network ls' accepts no arguments\n\nUsage:  berth network ls [OPTIONS]\n\n" +
        "Run 'berth network ls --help' for more information\n",
    );
  });
});

describe('network create', () => {
  const bodyFor = async (t: TestContext, args: string[]): Promise<RecordedRequest> => {
    const e = await engine(t);
    const r = await runCli(['network', 'create', ...args], { host: e.host });
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    assert.equal(r.stdout, CREATED_ID + '\n');
    return only(e.requests);
  };

  it('sends the same body as docker for a bare create', async (t) => {
    const req = await bodyFor(t, ['n1']);
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/v1.48/networks/create');
    assert.equal(req.contentType, 'application/json');
    assert.equal(
      req.body,
      '{"Driver":"bridge","Scope":"","IPAM":{"Driver":"default","Options":{},"Config":[]},"Internal":false,' +
        '"Attachable":false,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"Options":{},"Labels":{},"Name":"n1"}\n',
    );
  });

  it('pairs --subnet with --ip-range (seed 004)', async (t) => {
    const req = await bodyFor(t, ['--subnet', '172.21.0.0/16', '--ip-range', '172.21.240.0/20', 'personal']);
    assert.equal(
      req.body,
      '{"Driver":"bridge","Scope":"","IPAM":{"Driver":"default","Options":{},"Config":[{"Subnet":"172.21.0.0/16",' +
        '"IPRange":"172.21.240.0/20"}]},"Internal":false,"Attachable":false,"Ingress":false,"ConfigOnly":false,' +
        '"ConfigFrom":null,"Options":{},"Labels":{},"Name":"personal"}\n',
    );
  });

  it('sends every flag as docker does (gateway, aux addresses, ipv4/ipv6 pointers, labels, options)', async (t) => {
    const req = await bodyFor(t, [
      '-d',
      'bridge',
      '--subnet=10.0.0.0/24',
      '--gateway=10.0.0.254',
      '--aux-address',
      'a=10.0.0.5',
      '--aux-address',
      'b=10.0.0.6',
      '--subnet',
      'fd00::/64',
      '--gateway',
      'fd00::1',
      '--ipv6',
      '--ipv4=false',
      '--internal',
      '--attachable',
      '--label',
      'x=y',
      '--label',
      'z',
      '-o',
      'com.docker.network.bridge.name=br9',
      '-o',
      'mtu=1400',
      '--ipam-driver',
      'default',
      '--ipam-opt',
      'foo=bar',
      'n2',
    ]);
    assert.equal(
      req.body,
      '{"Driver":"bridge","Scope":"","EnableIPv4":false,"EnableIPv6":true,"IPAM":{"Driver":"default","Options":{"foo":"bar"},' +
        '"Config":[{"Subnet":"10.0.0.0/24","Gateway":"10.0.0.254","AuxiliaryAddresses":{"a":"10.0.0.5","b":"10.0.0.6"}},' +
        '{"Subnet":"fd00::/64","Gateway":"fd00::1"}]},"Internal":true,"Attachable":true,"Ingress":false,"ConfigOnly":false,' +
        '"ConfigFrom":null,"Options":{"com.docker.network.bridge.name":"br9","mtu":"1400"},"Labels":{"x":"y","z":""},"Name":"n2"}\n',
    );
  });

  it('sends EnableIPv4 only when --ipv4 was given; later labels win; values keep spaces', async (t) => {
    assert.match((await bodyFor(t, ['--ipv4', 'n3'])).body, /"Scope":"","EnableIPv4":true,"IPAM"/);
    assert.match((await bodyFor(t, ['--label', 'a=b', '--label', 'a=c', '--label', 'sp= x', 'n4'])).body, /"Labels":\{"a":"c","sp":" x"\}/);
    assert.match((await bodyFor(t, ['--label', ' a=c', 'n4'])).body, /"Labels":\{" a":"c"\}/);
  });

  it('sends scope, config-only, ingress and config-from', async (t) => {
    const req = await bodyFor(t, ['--scope', 'local', '--config-only', '--ingress', '--config-from', 'x', 'n5']);
    assert.equal(
      req.body,
      '{"Driver":"bridge","Scope":"local","IPAM":{"Driver":"default","Options":{},"Config":[]},"Internal":false,' +
        '"Attachable":false,"Ingress":true,"ConfigOnly":true,"ConfigFrom":{"Network":"x"},"Options":{},"Labels":{},"Name":"n5"}\n',
    );
  });

  it('splits comma-separated subnets and gateways (pflag stringSlice)', async (t) => {
    const req = await bodyFor(t, ['--subnet', '10.0.0.0/24,10.1.0.0/24', '--gateway', '10.0.0.9,10.1.0.9', '--ip-range', '10.1.0.128/25', 'x']);
    // Docker's order here follows a Go map (random); berth keeps the --subnet order.
    assert.match(
      req.body,
      /"Config":\[\{"Subnet":"10.0.0.0\/24","Gateway":"10.0.0.9"\},\{"Subnet":"10.1.0.0\/24","IPRange":"10.1.0.128\/25","Gateway":"10.1.0.9"\}\]/,
    );
  });

  const invalid: ReadonlyArray<readonly [string[], string]> = [
    [['--ip-range', '10.0.0.0/25'], 'every ip-range or gateway must have a corresponding subnet'],
    [['--gateway', '1.2.3.4'], 'every ip-range or gateway must have a corresponding subnet'],
    [['--subnet', '10.0.0.0/24', '--subnet', '10.0.0.0/16'], 'multiple overlapping subnet configuration is not supported'],
    [['--subnet', '10.0.0.0/24', '--ip-range', '10.1.0.0/25'], 'no matching subnet for range 10.1.0.0/25'],
    [['--subnet', '10.0.0.0/24', '--gateway', '10.1.0.1'], 'no matching subnet for gateway 10.1.0.1'],
    [['--subnet', '10.0.0.0/24', '--aux-address', 'a=10.1.0.1'], 'no matching subnet for aux-address 10.1.0.1'],
    [['--subnet', '10.0.0.0/24', '--aux-address', 'a'], 'no matching subnet for aux-address '],
    [['--subnet', '10.0.0.0/24', '--ip-range', 'bogus'], 'invalid CIDR address: bogus'],
    [['--subnet', 'bogus', '--ip-range', '10.0.0.0'], 'invalid CIDR address: 10.0.0.0'],
    [['--subnet', 'bogus', '--gateway', '1.2.3.4'], 'invalid subnet: invalid CIDR address: bogus'],
    [['--subnet', '10.0.0.0/24', '--subnet', 'bogus'], 'invalid subnet: invalid CIDR address: bogus'],
    [['--subnet', '10.0.0.0/24', '--gateway', '10.0.0.1/33'], 'invalid CIDR address: 10.0.0.1/33'],
    [
      ['--subnet', '10.0.0.0/24', '--subnet', '10.1.0.0/24', '--ip-range', '10.0.0.0/25', '--ip-range', '10.0.0.128/25'],
      'cannot configure multiple ranges (10.0.0.128/25, 10.0.0.0/25) on the same subnet (10.0.0.0/24)',
    ],
    [
      ['--subnet', '10.0.0.0/24', '--subnet', '10.1.0.0/24', '--gateway', '10.0.0.1', '--gateway', '10.0.0.2'],
      'cannot configure multiple gateways (10.0.0.2, 10.0.0.1) for the same subnet (10.0.0.0/24)',
    ],
  ];
  for (const [flags, message] of invalid) {
    it(`refuses ${flags.join(' ')} before calling the daemon`, async () => {
      const r = await runCli(['network', 'create', ...flags, 'x'], { host: 'unix:///nonexistent.sock' });
      assert.deepEqual(r, { code: 1, stdout: '', stderr: message + '\n' });
    });
  }

  it('leaves single-subnet validation to the daemon, as docker does', async (t) => {
    assert.match((await bodyFor(t, ['--subnet', 'bogus', 'x'])).body, /"Config":\[\{"Subnet":"bogus"\}\]/);
  });

  it('reports flag errors with usage and status 125', async () => {
    const cases: ReadonlyArray<readonly [string[], string]> = [
      [['--foo', 'x'], 'unknown flag: --foo'],
      [['-x', 'n'], "unknown shorthand flag: 'x' in -x"],
      [['--subnet'], 'flag needs an argument: --subnet'],
      [['n', '-d'], "flag needs an argument: 'd' in -d"],
      [['--label', '', 'x'], 'invalid argument "" for "--label" flag: invalid label \'\': empty name'],
      [['--label', 'a =c', 'x'], 'invalid argument "a =c" for "--label" flag: label \'a \' contains whitespaces'],
      [['--label', 'a\tb=c', 'x'], 'invalid argument "a\\tb=c" for "--label" flag: label \'a\tb\' contains whitespaces'],
      [['--ipv4=maybe', 'x'], 'invalid argument "maybe" for "--ipv4" flag: strconv.ParseBool: parsing "maybe": invalid syntax'],
    ];
    for (const [args, msg] of cases) {
      const r = await runCli(['network', 'create', ...args]);
      assert.equal(r.code, 125, args.join(' '));
      assert.equal(
        r.stderr,
        `${msg}\n\nUsage:  berth network create [OPTIONS] NETWORK\n\nRun 'berth network create --help' for more information\n`,
      );
    }
  });

  it('requires exactly one argument (status 1)', async () => {
    const r = await runCli(['network', 'create', 'a', 'b']);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      "berth: 'berth network create' requires 1 argument\n\nUsage:  berth network create [OPTIONS] NETWORK\n\n" +
        "Run 'berth network create --help' for more information\n",
    );
  });

  it('prints docker-style help', async () => {
    const r = await runCli(['network', 'create', '--help']);
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      lines(
        'Usage:  berth network create [OPTIONS] NETWORK',
        '',
        'Create a network',
        '',
        'Options:',
        '      --attachable           Enable manual container attachment',
        '      --aux-address map      Auxiliary IPv4 or IPv6 addresses used by',
        '                             Network driver (default map[])',
        '      --config-from string   The network from which to copy the configuration',
        '      --config-only          Create a configuration only network',
        '  -d, --driver string        Driver to manage the Network (default "bridge")',
        '      --gateway strings      IPv4 or IPv6 Gateway for the master subnet',
        '      --ingress              Create swarm routing-mesh network',
        '      --internal             Restrict external access to the network',
        '      --ip-range strings     Allocate container ip from a sub-range',
        '      --ipam-driver string   IP Address Management Driver (default "default")',
        '      --ipam-opt map         Set IPAM driver specific options (default map[])',
        '      --ipv4                 Enable or disable IPv4 address assignment',
        '                             (default true)',
        '      --ipv6                 Enable or disable IPv6 address assignment',
        '      --label list           Set metadata on a network',
        '  -o, --opt map              Set driver specific options (default map[])',
        "      --scope string         Control the network's scope",
        '      --subnet strings       Subnet in CIDR format that represents a',
        '                             network segment',
      ),
    );
  });

  it('surfaces daemon errors', async (t) => {
    const e = await engine(t, () => ({ status: 409, json: { message: 'network with name n1 already exists' } }));
    const r = await runCli(['network', 'create', 'n1'], { host: e.host });
    assert.deepEqual(r, { code: 1, stdout: '', stderr: 'Error response from daemon: network with name n1 already exists\n' });
  });
});

describe('network inspect', () => {
  const INSPECT_BRIDGE = [
    '    {',
    '        "Name": "bridge",',
    `        "Id": "${BRIDGE_ID}",`,
    '        "Created": "2024-05-01T09:00:00.5Z",',
    '        "Scope": "local",',
    '        "Driver": "bridge",',
    '        "EnableIPv4": true,',
    '        "EnableIPv6": false,',
    '        "IPAM": {',
    '            "Driver": "default",',
    '            "Options": null,',
    '            "Config": [',
    '                {',
    '                    "Subnet": "172.17.0.0/16",',
    '                    "Gateway": "172.17.0.1"',
    '                }',
    '            ]',
    '        },',
    '        "Internal": false,',
    '        "Attachable": false,',
    '        "Ingress": false,',
    '        "ConfigFrom": {',
    '            "Network": ""',
    '        },',
    '        "ConfigOnly": false,',
    '        "Containers": {',
    '            "8b2cb1358266bd386d3428f654e1fb8ee6c8fe6773e2d42229bcc0ec66fd2e9f": {',
    '                "Name": "b-nginx",',
    '                "EndpointID": "b93c896084be44552e04d2364d155e19af3f307fb8d9aa04872cd27e8bbf5e9a",',
    '                "MacAddress": "02:42:ac:11:00:02",',
    '                "IPv4Address": "172.17.0.2/16",',
    '                "IPv6Address": ""',
    '            }',
    '        },',
    '        "Options": {',
    '            "com.docker.network.bridge.name": "berth0",',
    '            "com.docker.network.bridge.default_bridge": "true"',
    '        },',
    '        "Labels": {}',
    '    }',
  ];
  const INSPECT_NET10 = [
    '    {',
    '        "Name": "net10",',
    '        "Id": "aaaa46383f4aaaabbbbccccddddeeeeffff0000111122223333444455556666",',
    '        "Created": "2024-05-01T09:00:00Z",',
    '        "Scope": "local",',
    '        "Driver": "bridge",',
    '        "EnableIPv4": true,',
    '        "EnableIPv6": true,',
    '        "IPAM": {',
    '            "Driver": "default",',
    '            "Options": null,',
    '            "Config": [',
    '                {',
    '                    "Subnet": "10.1.0.0/24",',
    '                    "Gateway": "10.1.0.1",',
    '                    "AuxiliaryAddresses": {',
    '                        "host1": "10.1.0.5",',
    '                        "a": "10.1.0.6"',
    '                    }',
    '                }',
    '            ]',
    '        },',
    '        "Internal": true,',
    '        "Attachable": false,',
    '        "Ingress": false,',
    '        "ConfigFrom": {',
    '            "Network": ""',
    '        },',
    '        "ConfigOnly": false,',
    '        "Containers": {},',
    '        "Options": {},',
    '        "Labels": {',
    '            "x": "y"',
    '        }',
    '    }',
  ];

  it('prints the daemon JSON as an indented array, keys in daemon order', async (t) => {
    const e = await engine(t);
    const r = await runCli(['network', 'inspect', 'bridge', 'net10'], { host: e.host });
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, ['[', ...INSPECT_BRIDGE.slice(0, -1), '    },', ...INSPECT_NET10, ']', ''].join('\n'));
    assert.deepEqual(
      e.requests.map((q) => `${q.method} ${q.url}`),
      ['GET /v1.48/networks/bridge', 'GET /v1.48/networks/net10'],
    );
  });

  it('prints what was found and an error per missing network (status 1); "[]" when nothing', async (t) => {
    const e = await engine(t);
    const r = await runCli(['network', 'inspect', 'nope', 'bridge', 'nope2'], { host: e.host });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, ['[', ...INSPECT_BRIDGE, ']', ''].join('\n'));
    assert.equal(r.stderr, 'Error response from daemon: network nope not found\nError response from daemon: network nope2 not found\n');
    assert.deepEqual(await runCli(['network', 'inspect', 'nope'], { host: e.host }), {
      code: 1,
      stdout: '[]\n',
      stderr: 'Error response from daemon: network nope not found\n',
    });
  });

  it('--format json compacts the array', async (t) => {
    const e = await engine(t);
    const r = await runCli(['network', 'inspect', '--format', 'json', 'net9'], { host: e.host });
    assert.equal(
      r.stdout,
      '[{"Name":"net9","Id":"bbbb46383f4aaaabbbbccccddddeeeeffff0000111122223333444455556666","Created":"2024-05-01T09:00:00Z",' +
        '"Scope":"local","Driver":"bridge","EnableIPv4":true,"EnableIPv6":false,"IPAM":{"Driver":"default","Options":null,' +
        '"Config":[]},"Internal":false,"Attachable":false,"Ingress":false,"ConfigFrom":{"Network":""},"ConfigOnly":false,' +
        '"Containers":{},"Options":{},"Labels":null}]\n',
    );
  });

  it('runs templates on the Go struct: %v of []IPAMConfig, nil/empty configs', async (t) => {
    const e = await engine(t);
    const r = await runCli(['network', 'inspect', '-f', '{{.IPAM.Config}}', 'bridge', 'personal', 'net10', 'none', 'net9'], {
      host: e.host,
    });
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      lines(
        '[{172.17.0.0/16  172.17.0.1 map[]}]',
        '[{172.21.0.0/16 172.21.240.0/20 172.21.0.1 map[]}]',
        '[{10.1.0.0/24  10.1.0.1 map[a:10.1.0.6 host1:10.1.0.5]}]',
        '[]',
        '[]',
      ),
    );
  });

  it('prints typed values as Go does: time, maps of structs, empty structs, nil slices', async (t) => {
    const e = await engine(t);
    const r = await runCli(
      [
        'network',
        'inspect',
        '-f',
        '{{.Created}}|{{.ID}}|{{.Containers}}|{{.Labels}}|{{.Options}}|{{.ConfigFrom}}|{{.IPAM}}|{{.Peers}}|{{.Services}}|{{.EnableIPv4}}',
        'bridge',
        'host',
      ],
      { host: e.host },
    );
    assert.equal(
      r.stdout,
      lines(
        `2024-05-01 09:00:00.5 +0000 UTC|${BRIDGE_ID}|map[8b2cb1358266bd386d3428f654e1fb8ee6c8fe6773e2d42229bcc0ec66fd2e9f:` +
          '{b-nginx b93c896084be44552e04d2364d155e19af3f307fb8d9aa04872cd27e8bbf5e9a 02:42:ac:11:00:02 172.17.0.2/16 }]|map[]|' +
          'map[com.docker.network.bridge.default_bridge:true com.docker.network.bridge.name:berth0]|{}|' +
          '{default map[] [{172.17.0.0/16  172.17.0.1 map[]}]}|[]|map[]|true',
        '2024-05-01 09:00:00 +0200 +0200|8afd246383f4aaaabbbbccccddddeeeeffff0000111122223333444455556666|map[]|map[]|map[]|{}|' +
          '{default map[] []}|[]|map[]|true',
      ),
    );
  });

  it('{{json}} re-encodes the Go struct: field order, sorted maps, omitempty', async (t) => {
    const e = await engine(t);
    const r = await runCli(['network', 'inspect', '-f', '{{json .IPAM}}|{{json .Labels}}|{{json .Peers}}|{{json .Options}}', 'bridge', 'net9'], {
      host: e.host,
    });
    assert.equal(
      r.stdout,
      lines(
        '{"Driver":"default","Options":null,"Config":[{"Subnet":"172.17.0.0/16","Gateway":"172.17.0.1"}]}|{}|null|' +
          '{"com.docker.network.bridge.default_bridge":"true","com.docker.network.bridge.name":"berth0"}',
        '{"Driver":"default","Options":null,"Config":[]}|null|null|{}',
      ),
    );
  });

  it('falls back to the raw JSON when the struct has no such field ({{.Id}})', async (t) => {
    const e = await engine(t);
    const ok = await runCli(['network', 'inspect', '-f', '{{.Id}} {{.Created}} {{.IPAM}}', 'bridge'], { host: e.host });
    assert.equal(
      ok.stdout,
      `${BRIDGE_ID} 2024-05-01T09:00:00.5Z map[Config:[map[Gateway:172.17.0.1 Subnet:172.17.0.0/16]] Driver:default Options:<nil>]\n`,
    );
    const bad = await runCli(['network', 'inspect', '-f', '{{.Created}}|{{.Id}}|{{.ID}}', 'bridge'], { host: e.host });
    assert.deepEqual(bad, {
      code: 1,
      stdout: '\n',
      stderr: 'template parsing error: template: :1:23: executing "" at <.ID>: map has no entry for key "ID"\n',
    });
  });

  it('rejects an unparsable template with status 64 before any request', async (t) => {
    const e = await engine(t);
    const r = await runCli(['network', 'inspect', '-f', '{{.Name', 'bridge'], { host: e.host });
    assert.deepEqual(r, { code: 64, stdout: '', stderr: 'template parsing error: template: :1: unclosed action\n' });
    assert.equal(e.requests.length, 0);
  });

  it('-v asks for verbose output; flags may follow arguments', async (t) => {
    const e = await engine(t);
    const r = await runCli(['network', 'inspect', '-v', 'bridge', '-f', '{{.Name}}'], { host: e.host });
    assert.equal(r.stdout, 'bridge\n');
    assert.equal(only(e.requests).url, '/v1.48/networks/bridge?verbose=true');
  });

  it('requires at least one argument', async () => {
    const r = await runCli(['network', 'inspect']);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      "berth: 'berth network inspect' requires at least 1 argument\n\n" +
        'Usage:  berth network inspect [OPTIONS] NETWORK [NETWORK...]\n\n' +
        "See 'berth network inspect --help' for more information\n",
    );
  });
});

describe('network rm', () => {
  it('prints each removed name, an error per failure, and "exit status 1"', async (t) => {
    const e = await engine(t);
    const r = await runCli(['network', 'rm', 'personal', 'bridge', 'nope', 'net9'], { host: e.host });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, 'personal\nnet9\n');
    assert.equal(
      r.stderr,
      'Error response from daemon: bridge is a pre-defined network and cannot be removed\n' +
        'Error response from daemon: network nope not found\nexit status 1\n',
    );
    assert.deepEqual(
      e.requests.map((q) => `${q.method} ${q.url}`),
      ['DELETE /v1.48/networks/personal', 'DELETE /v1.48/networks/bridge', 'DELETE /v1.48/networks/nope', 'DELETE /v1.48/networks/net9'],
    );
  });

  it('-f ignores missing networks; `remove` is an alias', async (t) => {
    const e = await engine(t);
    assert.deepEqual(await runCli(['network', 'rm', '-f', 'nope'], { host: e.host }), { code: 0, stdout: '', stderr: '' });
    assert.deepEqual(await runCli(['network', 'remove', 'personal'], { host: e.host }), { code: 0, stdout: 'personal\n', stderr: '' });
  });
});

describe('network prune', () => {
  const WARNING =
    'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ';

  it('-f prunes without asking and lists what was deleted', async (t) => {
    const e = await engine(t);
    const r = await runCli(['network', 'prune', '-f'], { host: e.host });
    assert.deepEqual(r, { code: 0, stdout: 'Deleted Networks:\nnet10\nnet9\n\n', stderr: '' });
    const req = only(e.requests);
    assert.equal(`${req.method} ${req.url} ${req.body}`, 'POST /v1.48/networks/prune ');
  });

  it('passes --filter as JSON', async (t) => {
    const e = await engine(t);
    await runCli(['network', 'prune', '--force', '--filter', 'until=24h', '--filter', 'label=a'], { host: e.host });
    assert.equal(only(e.requests).url, '/v1.48/networks/prune?filters=%7B%22label%22%3A%7B%22a%22%3Atrue%7D%2C%22until%22%3A%7B%2224h%22%3Atrue%7D%7D');
  });

  it('asks first; only y/Y confirms; a declined prompt exits 0 silently', async (t) => {
    const e = await engine(t);
    for (const answer of ['y\n', ' Y \n', 'y']) {
      const r = await runCli(['network', 'prune'], { host: e.host, stdin: answer });
      assert.deepEqual(r, { code: 0, stdout: WARNING + 'Deleted Networks:\nnet10\nnet9\n\n', stderr: '' }, JSON.stringify(answer));
    }
    const before = e.requests.length;
    for (const answer of ['n\n', 'yes\n', undefined]) {
      const r = await runCli(['network', 'prune'], { host: e.host, ...(answer !== undefined ? { stdin: answer } : {}) });
      assert.deepEqual(r, { code: 0, stdout: WARNING, stderr: '' }, JSON.stringify(answer));
    }
    assert.equal(e.requests.length, before);
  });

  it('prints nothing when nothing was deleted', async (t) => {
    const e = await engine(t, () => ({ status: 200, json: { NetworksDeleted: null } }));
    assert.deepEqual(await runCli(['network', 'prune', '-f'], { host: e.host }), { code: 0, stdout: '', stderr: '' });
  });
});

describe('network connect / disconnect', () => {
  it('sends an EndpointSettings body exactly as docker does', async (t) => {
    const e = await engine(t);
    const bare = await runCli(['network', 'connect', 'bridge', 'c1'], { host: e.host });
    assert.deepEqual(bare, { code: 0, stdout: '', stderr: '' });
    const full = await runCli(
      [
        'network',
        'connect',
        '--ip',
        '10.0.0.5',
        '--ip6',
        'fd00::5',
        '--alias',
        'a1',
        '--alias',
        'a2,a3',
        '--link',
        'other:al',
        '--driver-opt',
        'k=v',
        '--driver-opt',
        'k2=v2',
        'bridge',
        'c1',
      ],
      { host: e.host },
    );
    assert.equal(full.code, 0);
    const [a, b] = e.requests;
    assert.equal(a?.url, '/v1.48/networks/bridge/connect');
    assert.equal(
      a?.body,
      '{"Container":"c1","EndpointConfig":{"IPAMConfig":{},"Links":null,"Aliases":[],"MacAddress":"","DriverOpts":{},' +
        '"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"",' +
        '"GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}\n',
    );
    assert.equal(
      b?.body,
      '{"Container":"c1","EndpointConfig":{"IPAMConfig":{"IPv4Address":"10.0.0.5","IPv6Address":"fd00::5"},' +
        '"Links":["other:al"],"Aliases":["a1","a2","a3"],"MacAddress":"","DriverOpts":{"k":"v","k2":"v2"},"GwPriority":0,' +
        '"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"",' +
        '"GlobalIPv6PrefixLen":0,"DNSNames":null}}\n',
    );
  });

  it('checks --driver-opt and --link client-side', async () => {
    assert.deepEqual(await runCli(['network', 'connect', '--driver-opt', 'bad', 'bridge', 'c1']), {
      code: 1,
      stdout: '',
      stderr: 'invalid key/value pair format in driver options\n',
    });
    const r = await runCli(['network', 'connect', '--link', 'bad:x:y', 'bridge', 'c1']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /^invalid argument "bad:x:y" for "--link" flag: bad format for links: bad:x:y\n/);
  });

  it('surfaces daemon errors and wants two arguments', async (t) => {
    const e = await engine(t);
    assert.deepEqual(await runCli(['network', 'connect', 'nope', 'c1'], { host: e.host }), {
      code: 1,
      stdout: '',
      stderr: 'Error response from daemon: network nope not found\n',
    });
    assert.deepEqual(await runCli(['network', 'connect', 'bridge', 'nope'], { host: e.host }), {
      code: 1,
      stdout: '',
      stderr: 'Error response from daemon: No such container: nope\n',
    });
    const r = await runCli(['network', 'connect', 'bridge']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^berth: 'berth network connect' requires 2 arguments\n/);
  });

  it('disconnect sends Container and Force', async (t) => {
    const e = await engine(t);
    await runCli(['network', 'disconnect', 'bridge', 'c1'], { host: e.host });
    await runCli(['network', 'disconnect', '-f', 'bridge', 'c1'], { host: e.host });
    assert.deepEqual(
      e.requests.map((q) => `${q.url} ${q.body}`),
      ['/v1.48/networks/bridge/disconnect {"Container":"c1","Force":false}\n', '/v1.48/networks/bridge/disconnect {"Container":"c1","Force":true}\n'],
    );
  });

  it('connect --help', async () => {
    const r = await runCli(['network', 'connect', '--help']);
    assert.equal(
      r.stdout,
      lines(
        'Usage:  berth network connect [OPTIONS] NETWORK CONTAINER',
        '',
        'Connect a container to a network',
        '',
        'Options:',
        '      --alias strings           Add network-scoped alias for the container',
        '      --driver-opt strings      driver options for the network',
        '      --gw-priority int         Highest gw-priority provides the default',
        '                                gateway. Accepts positive and negative values.',
        '      --ip string               IPv4 address (e.g., "172.30.100.104")',
        '      --ip6 string              IPv6 address (e.g., "2001:db8::33")',
        '      --link list               Add link to another container',
        '      --link-local-ip strings   Add a link-local address for the container',
      ),
    );
  });
});

describe('network command group and the root', () => {
  const GROUP_HELP = lines(
    'Usage:  berth network COMMAND',
    '',
    'Manage networks',
    '',
    'Commands:',
    '  connect     Connect a container to a network',
    '  create      Create a network',
    '  disconnect  Disconnect a container from a network',
    '  inspect     Display detailed information on one or more networks',
    '  ls          List networks',
    '  prune       Remove all unused networks',
    '  rm          Remove one or more networks',
    '',
    "Run 'berth network COMMAND --help' for more information on a command.",
  );

  it('`network` alone prints the group help on stderr (status 0); --help on stdout', async () => {
    assert.deepEqual(await runCli(['network']), { code: 0, stdout: '', stderr: GROUP_HELP });
    assert.deepEqual(await runCli(['network', '--help']), { code: 0, stdout: GROUP_HELP, stderr: '' });
  });

  it('unknown subcommands and verbs', async () => {
    assert.deepEqual(await runCli(['network', 'bogus']), {
      code: 1,
      stdout: '',
      stderr: "berth: unknown command: berth network bogus\n\nUsage:  berth network\n\nRun 'berth network --help' for more information\n",
    });
    assert.deepEqual(await runCli(['bogus']), {
      code: 1,
      stdout: '',
      stderr: "berth: unknown command: berth bogus\n\nRun 'berth --help' for more information\n",
    });
    assert.deepEqual(await runCli(['--foo', 'network', 'ls']), {
      code: 125,
      stdout: '',
      stderr: "unknown flag: --foo\n\nUsage:  berth [OPTIONS] COMMAND [ARG...]\n\nRun 'berth --help' for more information\n",
    });
  });

  it('ls --help lists aliases and wraps the format help as pflag does', async () => {
    const r = await runCli(['network', 'ls', '--help', 'extra']);
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      lines(
        'Usage:  berth network ls [OPTIONS]',
        '',
        'List networks',
        '',
        'Aliases:',
        '  berth network ls, berth network list',
        '',
        'Options:',
        '  -f, --filter filter   Provide filter values (e.g. "driver=bridge")',
        '      --format string   Format output using a custom template:',
        "                        'table':            Print output in table format",
        '                        with column headers (default)',
        "                        'table TEMPLATE':   Print output in table format",
        '                        using the given Go template',
        "                        'json':             Print in JSON format",
        "                        'TEMPLATE':         Print output using the given",
        '                        Go template.',
        '                        Refer to https://docs.docker.com/go/formatting/',
        '                        for more information about formatting output with',
        '                        templates',
        '      --no-trunc        Do not truncate the output',
        '  -q, --quiet           Only display network IDs',
      ),
    );
  });
});
