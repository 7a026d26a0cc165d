import { expect } from 'chai';
import { secretMatcher, secretsEqual } from '../../src/net/secret-compare';

describe('net: secretsEqual / secretMatcher (constant time, one comparison for every secret)', () => {
  it('is true only for identical keys', () => {
    expect(secretsEqual('abc', 'abc')).to.equal(true);
    expect(secretsEqual('abc', 'abd')).to.equal(false);
    expect(secretsEqual('abc', 'abcd')).to.equal(false);
    expect(secretsEqual('', 'a')).to.equal(false);
  });

  it('secretMatcher checks against a fixed secret the same way', () => {
    const isToken = secretMatcher('s3cret');
    expect(isToken('s3cret')).to.equal(true);
    expect(isToken('s3cre')).to.equal(false);
    expect(isToken('s3cret ')).to.equal(false);
    expect(isToken('')).to.equal(false);
  });
});

describe('net: secretsEqual edge cases', () => {
  it('a value that repeats the secret is not the secret', () => {
    expect(secretsEqual('abcabc', 'abc')).to.equal(false);
    expect(secretsEqual('abc', 'abcabc')).to.equal(false);
    expect(secretsEqual('a', '')).to.equal(false);
    expect(secretsEqual('', '')).to.equal(true);
  });
  it('compares UTF-16 code units exactly', () => {
    expect(secretsEqual('pässwörd', 'pässwörd')).to.equal(true);
    expect(secretsEqual('pässwörd', 'passwörd')).to.equal(false);
  });
});
