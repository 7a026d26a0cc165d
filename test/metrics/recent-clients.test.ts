import { expect } from 'chai';
import { RecentClients } from '../../src/metrics/recent-clients';

describe('RecentClients (HLS viewers)', () => {
  it('counts distinct clients seen within the window; a client seen again stays counted', () => {
    const clients = new RecentClients(30_000);
    clients.saw('a', 0);
    clients.saw('b', 10_000);
    clients.saw('a', 10_000);
    clients.saw('a', 20_000);
    expect(clients.count(20_000)).to.equal(2);
    expect(clients.count(45_000), 'a seen at 20 s, b at 10 s').to.equal(1);
    expect(clients.count(50_001)).to.equal(0);
  });

  it('holds at most `max` clients, dropping the least recently seen first', () => {
    const clients = new RecentClients(30_000, 3);
    for (const [i, c] of ['a', 'b', 'c', 'd'].entries()) clients.saw(c, i);
    clients.saw('b', 10);
    clients.saw('e', 11);
    expect(clients.count(12)).to.equal(3);
    clients.saw('c', 13);
    clients.saw('b', 13);
    clients.saw('e', 13);
    expect(clients.count(14), 'd and a went first').to.equal(3);
  });
});
