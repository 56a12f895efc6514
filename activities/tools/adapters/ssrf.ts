import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import ipaddr from 'ipaddr.js';
import { Agent } from 'undici';
import { AdapterFailure, adapterFailure } from './failures';

/** The signature of `dns.lookup` with `all: true`, which tests replace to point a name anywhere. */
export type Resolver = (hostname: string, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

const systemResolver: Resolver = (hostname, callback) => dnsLookup(hostname, { all: true }, callback);

/** The ipaddr.js range of an address: `unicast` is the only public one (loopback, private, linkLocal… are not). */
export function addressRange(address: string): string {
  return ipaddr.process(address).range();
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
    throw adapterFailure(
      AdapterFailure.SsrfDenied,
      `${host} is a ${addressRange(host)} address; list it in allow_private_hosts to allow it`,
      { host },
    );
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
          `${host} resolves to ${bad.address}, a ${addressRange(bad.address)} address; list ${host} in allow_private_hosts to allow it`,
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
