/**
 * The pure parts of the etcd client: `--cluster-store` parsing, etcd's prefix range end, and
 * the line splitter that cuts the watch stream into JSON objects.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineSplitter, parseClusterStore, prefixRangeEnd } from '../../../src/cluster/etcd.js';
import { BerthError } from '../../../src/errors.js';

describe('parseClusterStore', () => {
  it('turns etcd://host:port lists into base URLs', () => {
    assert.deepEqual(parseClusterStore('etcd://198.18.0.254:2379'), ['http://198.18.0.254:2379']);
    assert.deepEqual(parseClusterStore('etcd://a.example:2379,10.0.0.2:12379'), ['http://a.example:2379', 'http://10.0.0.2:12379']);
    assert.deepEqual(parseClusterStore('ETCD://h:1/'), ['http://h:1']);
    assert.deepEqual(parseClusterStore('etcd://[fd00::1]:2379,[::1]:2'), ['http://[fd00::1]:2379', 'http://[::1]:2']);
  });

  const bad: [string, RegExp][] = [
    ['', /want etcd:\/\/host:port/],
    ['198.18.0.254:2379', /want etcd:\/\/host:port/],
    ['consul://h:8500', /etcd:\/\/ only, not consul:\/\//],
    ['http://h:2379', /etcd:\/\/ only, not http:\/\//],
    ['etcd://', /no host:port given/],
    ['etcd://h', /"h" needs a port/],
    ['etcd://h:', /"h:" is not host:port/],
    ['etcd://h:0', /needs a port \(1-65535\)/],
    ['etcd://h:65536', /needs a port/],
    ['etcd://h:2379,', /"" is not host:port/],
    ['etcd://h:2379,,g:1', /"" is not host:port/],
    ['etcd://h:2379/berth', /key path is not supported/],
    ['etcd://fd00::1:2379', /is not host:port/],
    ['etcd://user@h:2379', /is not host:port/],
  ];
  for (const [url, message] of bad) {
    it(`rejects ${JSON.stringify(url)}`, () => {
      assert.throws(() => parseClusterStore(url), (err: unknown) => {
        assert.ok(err instanceof BerthError);
        assert.equal(err.code, 'ERR_INVALID_PARAMETER');
        assert.match(err.message, message);
        return true;
      });
    });
  }
});

describe('prefixRangeEnd', () => {
  const end = (p: string) => Buffer.from(prefixRangeEnd(p), 'base64');
  it('adds one to the last byte', () => {
    assert.deepEqual(end('/berth/v1/'), Buffer.from('/berth/v10'));
    assert.deepEqual(end('a'), Buffer.from('b'));
  });
  it('works on the UTF-8 bytes of a key (UTF-8 never has a 0xff byte)', () => {
    assert.deepEqual(end('é'), Buffer.from([0xc3, 0xaa])); // é = c3 a9
    assert.deepEqual(end('\u00ff'), Buffer.from([0xc3, 0xc0]));
  });
  it('means "every key" for the empty prefix', () => {
    assert.deepEqual(end(''), Buffer.from([0]));
  });
});

describe('LineSplitter', () => {
  it('returns whole lines and keeps a partial one for the next chunk', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.push('{"a":1}\n{"b":'), ['{"a":1}']);
    assert.deepEqual(s.push('2}'), []);
    assert.deepEqual(s.push('\n\n{"c":3}\n{"d"'), ['{"b":2}', '{"c":3}']);
    assert.deepEqual(s.push(':4}\n'), ['{"d":4}']);
    assert.deepEqual(s.push(''), []);
  });
  it('keeps newlines inside JSON strings intact (they are escaped on the wire)', () => {
    const s = new LineSplitter();
    const line = JSON.stringify({ v: 'x\ny' });
    assert.deepEqual(s.push(`${line.slice(0, 5)}`), []);
    assert.deepEqual(s.push(`${line.slice(5)}\n`), [line]);
    assert.deepEqual(JSON.parse(line), { v: 'x\ny' });
  });
});
