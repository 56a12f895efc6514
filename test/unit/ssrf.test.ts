import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { ApplicationFailure } from '@temporalio/common';
import { AdapterFailure } from '../../activities/tools/adapters/failures';
import { addressRange, checkUrl } from '../../activities/tools/adapters/ssrf';

// IPv6 forms that carry an IPv4 address are classed by that address, so a loopback, private or
// metadata address cannot be reached by writing it inside an IPv6 literal.

const octet = fc.integer({ min: 0, max: 255 });
/** IPv4 addresses in the non-public ranges an attacker aims at: loopback, private, link-local (metadata), CGNAT, "this network". */
const nonPublicV4 = fc.oneof(
  fc.tuple(fc.constant(127), octet, octet, octet),
  fc.tuple(fc.constant(10), octet, octet, octet),
  fc.tuple(fc.constant(172), fc.integer({ min: 16, max: 31 }), octet, octet),
  fc.tuple(fc.constant(192), fc.constant(168), octet, octet),
  fc.tuple(fc.constant(169), fc.constant(254), octet, octet),
  fc.tuple(fc.constant(100), fc.integer({ min: 64, max: 127 }), octet, octet),
  fc.tuple(fc.constant(0), octet, octet, octet),
);
const publicV4 = fc.tuple(fc.integer({ min: 1, max: 223 }), octet, octet, octet).filter((b) => new ipaddr.IPv4(b).range() === 'unicast');

const hex = (b: number[], i: number) => ((b[i]! << 8) | b[i + 1]!).toString(16);
/** The ways an IPv4 address can be written inside an IPv6 literal, in dotted and in hex form. */
const embeddings = (b: number[]): string[] => {
  const dotted = b.join('.');
  const h = `${hex(b, 0)}:${hex(b, 2)}`;
  // `::0.0.0.0` and `::0.0.0.1` are IPv6's own unspecified and loopback addresses, classed as such.
  const compatible = b[0] || b[1] || b[2] || b[3]! > 1 ? [`::${dotted}`, `::${h}`, `0:0:0:0:0:0:${h}`] : [];
  return [
    ...compatible,
    `::ffff:${dotted}`,
    `::ffff:${h}`,
    `::ffff:0:${h}`,
    `64:ff9b::${dotted}`,
    `64:ff9b::${h}`,
    `2002:${h}::`,
    `2002:${h}:1234::5`,
  ];
};

const denial = (literal: string): unknown => {
  const url = new URL(`http://[${literal}]:8080/latest/meta-data/`);
  try {
    checkUrl(url, { allowHosts: [url.hostname.replace(/^\[|\]$/g, '')], allowPrivateHosts: [] });
    return undefined;
  } catch (err) {
    return err;
  }
};

test('the literals the issue names are denied, naming the IPv4 address they embed', () => {
  for (const [literal, range, v4] of [
    ['::127.0.0.1', 'loopback', '127.0.0.1'],
    ['::a9fe:a9fe', 'linkLocal', '169.254.169.254'],
    ['::ffff:169.254.169.254', 'linkLocal', '169.254.169.254'],
    ['64:ff9b::10.0.0.1', 'private', '10.0.0.1'],
    ['2002:c0a8:101::1', 'private', '192.168.1.1'],
  ] as const) {
    const err = denial(literal);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: AdapterFailure.SsrfDenied, nonRetryable: true });
    expect((err as Error).message).toContain(`a ${range} address (it embeds ${v4})`);
  }
});

test('property: every embedding of a non-public IPv4 address is non-public and denied', () => {
  fc.assert(
    fc.property(nonPublicV4, (b) => {
      const v4range = new ipaddr.IPv4(b).range();
      for (const literal of embeddings(b)) {
        expect([literal, addressRange(literal)]).toEqual([literal, v4range]);
        expect(denial(literal)).toMatchObject({ type: AdapterFailure.SsrfDenied });
      }
    }),
    { numRuns: 300 },
  );
});

test('property: an embedding of a public IPv4 address is public (NAT64 and 6to4 networks keep working)', () => {
  fc.assert(
    fc.property(publicV4, (b) => {
      for (const literal of embeddings(b)) expect([literal, denial(literal)]).toEqual([literal, undefined]);
    }),
    { numRuns: 300 },
  );
});

test("IPv6's own loopback and unspecified addresses and other non-public ranges stay denied", () => {
  for (const literal of ['::1', '::', '::2', 'fe80::1', 'fc00::1', 'ff02::1', '2001:0:4136:e378:8000:63bf:3fff:fdd2']) {
    expect([literal, denial(literal)]).toEqual([literal, expect.objectContaining({ type: AdapterFailure.SsrfDenied })]);
  }
  expect(denial('2606:4700::1111')).toBeUndefined();
});
