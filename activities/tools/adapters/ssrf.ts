import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import ipaddr from 'ipaddr.js';
import { Agent } from 'undici';
import { AdapterFailure, adapterFailure } from './failures';

/** The signature of `dns.lookup` with `all: true`, which tests replace to point a name anywhere. */
export type Resolver = (hostname: string, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

const systemResolver: Resolver = (hostname, callback) => dnsLookup(hostname, { all: true }, callback);

/**
 * The IPv4 address an IPv6 address carries in its bits, for the forms that route to it: IPv4-mapped
 * (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, deprecated but still accepted by some stacks),
 * SIIT-translated (`::ffff:0:a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) and 6to4 (`2002:AABB:CCDD::/48`).
 * Teredo is left alone: its client address is obfuscated and the range stays non-public anyway.
 */
export function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const b = address.toByteArray();
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const tail = () => new ipaddr.IPv4(b.slice(12, 16));
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return tail();
  // `::` and `::1` are IPv6's own unspecified and loopback addresses, not embeddings.
  if (zeros(0, 12) && !(zeros(12, 15) && b[15]! <= 1)) return tail();
  if (zeros(0, 8) && b[8] === 0xff && b[9] === 0xff && zeros(10, 12)) return tail();
  if (address.match(ipaddr.IPv6.parse('64:ff9b::'), 96)) return tail();
  if (b[0] === 0x20 && b[1] === 0x02) return new ipaddr.IPv4(b.slice(2, 6));
  return undefined;
}

/** How an address is classed: its ipaddr.js range and, for an IPv6 form that carries one, the IPv4 address that decides it. */
function classify(address: string): { range: string; embedded?: string } {
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv4') return { range: parsed.range() };
  const v4 = embeddedIPv4(parsed as ipaddr.IPv6);
  return v4 ? { range: v4.range(), embedded: v4.toString() } : { range: parsed.range() };
}

/**
 * The range of an address (`unicast` is the only public one: loopback, private, linkLocal… are not).
 * An IPv6 address that carries an IPv4 address is classed by that IPv4 address, so `[::127.0.0.1]`
 * is loopback and `[64:ff9b::10.0.0.1]` private, while NAT64 of a public address stays reachable.
 */
export function addressRange(address: string): string {
  return classify(address).range;
}

/** The range of an address as a denial names it: "a loopback address" or "a loopback address (it embeds 127.0.0.1)". */
function describe(address: string): string {
  const { range, embedded } = classify(address);
  return embedded ? `a ${range} address (it embeds ${embedded})` : `a ${range} address`;
}

/** The SSRF settings of one instance: which hosts it may reach and which of them may be non-public. */
export interface SsrfRules {
  allowHosts: string[];
  allowPrivateHosts: string[];
}

/** Refuses a URL whose host is off the allowlist, or is a non-public IP literal the instance does not allow. */
export function checkUrl(url: URL, rules: SsrfRules): void {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (!rules.allowHosts.includes(host)) {
    throw adapterFailure(AdapterFailure.SsrfDenied, `host ${host} is not in allow_hosts (${rules.allowHosts.join(', ')})`, { host });
  }
  // An IP literal never reaches the lookup below, so it is checked here.
  if (ipaddr.isValid(host) && addressRange(host) !== 'unicast' && !rules.allowPrivateHosts.includes(host)) {
    throw adapterFailure(AdapterFailure.SsrfDenied, `${host} is ${describe(host)}; list it in allow_private_hosts to allow it`, { host });
  }
}

/**
 * An undici dispatcher that resolves names itself and refuses to connect when any address of a name
 * is not public (loopback, private, link-local such as 169.254.169.254, multicast…), unless the name
 * is in `allowPrivateHosts`. The check runs on the address the socket will use, after DNS, so a name
 * that resolves to an internal address is caught before any packet is sent to it.
 */
export function guardedAgent(rules: SsrfRules, resolve: Resolver = systemResolver): Agent {
  const lookup = (hostname: string, options: LookupOptions, callback: (...args: unknown[]) => void) => {
    resolve(hostname, (err, addresses) => {
      if (err) return callback(err);
      const host = hostname.toLowerCase();
      const bad = addresses.find((a) => addressRange(a.address) !== 'unicast');
      if (bad && !rules.allowPrivateHosts.includes(host)) {
        const denial = adapterFailure(
          AdapterFailure.SsrfDenied,
          `${host} resolves to ${bad.address}, ${describe(bad.address)}; list ${host} in allow_private_hosts to allow it`,
          { host, address: bad.address },
        );
        return callback(denial);
      }
      if (options.all) return callback(null, addresses);
      const first = addresses.find((a) => !options.family || a.family === options.family) ?? addresses[0]!;
      return callback(null, first.address, first.family);
    });
  };
  return new Agent({ connect: { lookup: lookup as never } });
}
