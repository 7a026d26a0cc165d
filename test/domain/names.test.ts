import { expect } from 'chai';
import { isValidName, isValidStreamId } from '../../src/domain/names';

describe('domain: names', () => {
  it('channel names and keys: letters, digits, _ and -, within the length', () => {
    for (const ok of ['a', 'ch_1', 'Key-2', 'x'.repeat(128)]) expect(isValidName(ok, 128), ok).to.equal(true);
    for (const bad of ['', 'a b', 'a/b', 'é', '../x', 'x'.repeat(129)]) expect(isValidName(bad, 128), bad).to.equal(false);
  });
  it('stream ids: 32 lower-case hex characters', () => {
    expect(isValidStreamId('0123456789abcdef0123456789abcdef')).to.equal(true);
    for (const bad of ['', '0123456789ABCDEF0123456789ABCDEF', '0123456789abcdef0123456789abcde', '0123456789abcdef0123456789abcdefa', 'g123456789abcdef0123456789abcdef']) expect(isValidStreamId(bad), bad).to.equal(false);
  });
});
