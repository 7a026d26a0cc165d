import { expect } from 'chai';
import type { OutgoingAuth } from '../../src/config/config';
import { authorizationHeader } from '../../src/callbacks/http-auth';

describe('http-auth', () => {
  const table: Array<[OutgoingAuth, string | null]> = [
    [{ method: 'none' }, null],
    [{ method: 'Basic', user: 'user', password: 'pass' }, 'Basic dXNlcjpwYXNz'],
    [{ method: 'Basic', user: 'ü', password: 'a:b' }, `Basic ${Buffer.from('ü:a:b').toString('base64')}`],
    [{ method: 'Basic', user: 'u', password: '' }, 'Basic dTo='],
    [{ method: 'Bearer', token: 'tok.en' }, 'Bearer tok.en'],
    [{ method: 'Custom', value: 'Signature abc=1' }, 'Signature abc=1'],
  ];
  for (const [auth, expected] of table) {
    it(`${JSON.stringify(auth)} → ${String(expected)}`, () => {
      expect(authorizationHeader(auth)).to.equal(expected);
    });
  }
});
