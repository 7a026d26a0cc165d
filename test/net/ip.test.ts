import { expect } from 'chai';
import { allowlistContains, cidrContains, formatIp, isLoopback, parseAllowlist, parseCidr, parseIp } from '../../src/net/ip';

describe('net: IP addresses, CIDRs, allowlist (ipaddr.js)', () => {
  it('parses IPv4, IPv6, mapped and uWS full-length forms to the same bytes', () => {
    expect(formatIp(parseIp('127.0.0.1')!)).to.equal('127.0.0.1');
    expect(formatIp(parseIp('::ffff:127.0.0.1')!)).to.equal('127.0.0.1');
    expect(formatIp(parseIp('0000:0000:0000:0000:0000:0000:0000:0001')!)).to.equal('::1');
    expect(formatIp(parseIp('2001:db8:0:0:1:0:0:1')!)).to.equal('2001:db8::1:0:0:1');
    expect(formatIp(parseIp('[fe80::1%eth0]')!)).to.equal('fe80::1');
    for (const bad of ['', '1.2.3', '256.1.1.1', 'localhost', '1::2::3', '12345::']) expect(parseIp(bad), bad).to.equal(null);
  });
  it('loopback: 127/8, ::1 and ::ffff:127.x', () => {
    for (const ip of ['127.0.0.1', '127.255.1.2', '::1', '::ffff:127.0.0.9']) expect(isLoopback(parseIp(ip)!), ip).to.equal(true);
    for (const ip of ['10.0.0.1', '::2', '::ffff:10.0.0.1', '128.0.0.1']) expect(isLoopback(parseIp(ip)!), ip).to.equal(false);
  });
  it('CIDR matching, v4 and v6, bare addresses as host routes', () => {
    const net = parseCidr('10.1.0.0/16')!;
    expect(cidrContains(net, parseIp('10.1.200.3')!)).to.equal(true);
    expect(cidrContains(net, parseIp('::ffff:10.1.0.1')!)).to.equal(true);
    expect(cidrContains(net, parseIp('10.2.0.1')!)).to.equal(false);
    expect(cidrContains(parseCidr('2001:db8::/33')!, parseIp('2001:db8:7fff::1')!)).to.equal(true);
    expect(cidrContains(parseCidr('2001:db8::/33')!, parseIp('2001:db8:8000::1')!)).to.equal(false);
    expect(cidrContains(parseCidr('192.168.1.7')!, parseIp('192.168.1.7')!)).to.equal(true);
    expect(cidrContains(parseCidr('192.168.1.7')!, parseIp('192.168.1.8')!)).to.equal(false);
    expect(cidrContains(parseCidr('0.0.0.0/0')!, parseIp('8.8.8.8')!)).to.equal(true);
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/x', '10.0.0.0/', 'host/8']) expect(parseCidr(bad), bad).to.equal(null);
  });
  it('allowlist: comma/space separated, trimmed, * = all, invalid entries reported', () => {
    const list = parseAllowlist(' 10.0.0.0/8 ,192.168.1.5  2001:db8::/32,, nonsense ');
    expect(list.invalid).to.deep.equal(['nonsense']);
    expect(allowlistContains(list, parseIp('10.9.9.9')!)).to.equal(true);
    expect(allowlistContains(list, parseIp('192.168.1.5')!)).to.equal(true);
    expect(allowlistContains(list, parseIp('2001:db8::5')!)).to.equal(true);
    expect(allowlistContains(list, parseIp('192.168.1.6')!)).to.equal(false);
    expect(allowlistContains(parseAllowlist('*'), parseIp('1.2.3.4')!)).to.equal(true);
    expect(allowlistContains(parseAllowlist(''), parseIp('1.2.3.4')!)).to.equal(false);
  });
});
