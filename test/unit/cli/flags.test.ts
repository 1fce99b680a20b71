/**
 * Flag parsing with pflag semantics on util.parseArgs, pflag's help layout, and the tabwriter.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlagError, type FlagSpec, parseFlags, parseGoInt, readCsv, renderFlagUsages } from '../../../src/cli/flags.js';
import { tabwrite } from '../../../src/cli/tabwriter.js';

const SPECS: readonly FlagSpec[] = [
  { name: 'quiet', short: 'q', kind: 'bool', usage: 'q' },
  { name: 'filter', short: 'f', kind: 'filter', usage: 'f' },
  { name: 'driver', short: 'd', kind: 'string', default: 'bridge', usage: 'd' },
  { name: 'subnet', kind: 'stringSlice', usage: 's' },
  { name: 'label', kind: 'list', usage: 'l' },
  { name: 'opt', short: 'o', kind: 'map', usage: 'o' },
  { name: 'prio', kind: 'int', usage: 'p' },
];

const fail = (argv: string[]): string => {
  try {
    parseFlags(argv, SPECS);
  } catch (e) {
    if (e instanceof FlagError) return e.message;
    throw e;
  }
  return 'no error';
};

describe('parseFlags', () => {
  it('reads --flag value, --flag=value, -f value, -fvalue, -f=value and combined booleans', () => {
    const { flags, args } = parseFlags(
      ['a', '--driver', 'macvlan', '-qfdriver=x', '--filter=name=n', '-f', 'label=l', 'b', '-o=k=v', '-ok2=v2', '--subnet', '1,2', '--subnet=3'],
      SPECS,
    );
    assert.deepEqual(args, ['a', 'b']);
    assert.equal(flags.string('driver'), 'macvlan');
    assert.equal(flags.bool('quiet'), true);
    assert.deepEqual([...flags.filters('filter')], [['driver', ['x']], ['name', ['n']], ['label', ['l']]]);
    assert.deepEqual([...flags.map('opt')], [['k', 'v'], ['k2', 'v2']]);
    assert.deepEqual(flags.strings('subnet'), ['1', '2', '3']);
  });

  it('applies defaults and tracks which flags were set', () => {
    const { flags } = parseFlags(['-q=false', '--prio', '-0x10'], SPECS);
    assert.equal(flags.string('driver'), 'bridge');
    assert.equal(flags.changed('driver'), false);
    assert.equal(flags.bool('quiet'), false);
    assert.equal(flags.changed('quiet'), true);
    assert.equal(flags.int('prio'), -16);
  });

  it('stops at -- and keeps what follows as arguments', () => {
    assert.deepEqual(parseFlags(['--', '-q', '--driver'], SPECS).args, ['-q', '--driver']);
  });

  it('stops at the first positional when not interspersed', () => {
    const r = parseFlags(['-q', 'network', 'ls', '-x'], SPECS, { interspersed: false });
    assert.deepEqual(r.args, ['network', 'ls', '-x']);
  });

  it("gives pflag's messages, first problem first", () => {
    assert.equal(fail(['--foo']), 'unknown flag: --foo');
    assert.equal(fail(['--foo=1', '-x']), 'unknown flag: --foo');
    assert.equal(fail(['-qx']), "unknown shorthand flag: 'x' in -x");
    assert.equal(fail(['-xq']), "unknown shorthand flag: 'x' in -xq");
    assert.equal(fail(['--driver']), 'flag needs an argument: --driver');
    assert.equal(fail(['-qd']), "flag needs an argument: 'd' in -d");
    assert.equal(fail(['--quiet=maybe']), 'invalid argument "maybe" for "-q, --quiet" flag: strconv.ParseBool: parsing "maybe": invalid syntax');
    assert.equal(fail(['-f', 'foo']), 'invalid argument "foo" for "-f, --filter" flag: bad format of filter (expected name=value)');
    assert.equal(fail(['--prio', 'x']), 'invalid argument "x" for "--prio" flag: strconv.ParseInt: parsing "x": invalid syntax');
  });

  it('takes the next argument as a value even when it starts with a dash', () => {
    assert.equal(parseFlags(['--driver', '--quiet'], SPECS).flags.string('driver'), '--quiet');
  });

  it('reads stringSlice values as CSV', () => {
    assert.deepEqual(readCsv('a,"b,c",d'), ['a', 'b,c', 'd']);
    assert.deepEqual(readCsv(''), []);
    assert.equal(parseGoInt('0b101'), 5);
    assert.equal(parseGoInt('010'), 8);
  });
});

describe('renderFlagUsages', () => {
  it("lays flags out as pflag's FlagUsagesWrapped(79)", () => {
    assert.equal(
      renderFlagUsages([
        { name: 'force', short: 'f', kind: 'bool', usage: 'Do not prompt for confirmation' },
        { name: 'filter', kind: 'filter', usage: 'Provide filter values (e.g. "until=<timestamp>")' },
      ]),
      '      --filter filter   Provide filter values (e.g. "until=<timestamp>")\n' +
        '  -f, --force           Do not prompt for confirmation\n',
    );
  });
});

describe('tabwrite', () => {
  it('sizes columns per block, minwidth 10, padding 3, no trailing padding', () => {
    assert.equal(
      tabwrite('NETWORK ID\tNAME\tDRIVER\tSCOPE\nb22dfcac0219\tbridge\tbridge\tlocal\n', { minwidth: 10, padding: 3 }),
      'NETWORK ID     NAME      DRIVER    SCOPE\nb22dfcac0219   bridge    bridge    local\n',
    );
    // A longer cell widens its whole column block, as in `docker network ls`.
    assert.equal(
      tabwrite('NAME\tDRIVER\nbridge\tbridge\npersonal\tbridge\n', { minwidth: 10, padding: 3 }),
      'NAME       DRIVER\nbridge     bridge\npersonal   bridge\n',
    );
    assert.equal(tabwrite('a\tb\nno tabs here\nccc\td\n', { minwidth: 0, padding: 1 }), 'a b\nno tabs here\nccc d\n');
  });

  it('counts wide characters as two columns', () => {
    assert.equal(tabwrite('名前\tx\nab\ty\n', { minwidth: 0, padding: 1 }), '名前 x\nab   y\n');
  });
});
