import {
  addProcessSecrets,
  addSensitiveValues,
  redact,
  REDACTED,
  restrictedContextValues,
  secretEnvValues,
} from '../../observability/redact';

test('credential-named fields are hidden whatever they hold; other fields keep their values', () => {
  expect(redact({ authorization: 'x', api_key: 'y', password: 'z', headers: { 'X-Api-Key': 'k' }, name: 'alice', count: 3 })).toEqual({
    authorization: REDACTED,
    api_key: REDACTED,
    password: REDACTED,
    headers: { 'X-Api-Key': REDACTED },
    name: 'alice',
    count: 3,
  });
});

test('credential-shaped strings are hidden inside text, at any depth', () => {
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl';
  expect(redact(['called with Bearer abcdefgh12345678 ok', { deep: [`key sk-abcdefghijklmnop1234 and ${jwt}`] }])).toEqual([
    `called with Bearer ${REDACTED} ok`,
    { deep: [`key ${REDACTED} and ${REDACTED}`] },
  ]);
});

test('configured secret values and restricted context values are hidden wherever they appear; short ones are not', () => {
  const env = secretEnvValues({
    VENDOR_API_KEY: 'vendor-secret-1',
    GITHUB_TOKEN: 'gh-secret-22',
    PLAIN: 'visible-value',
    SHORT_TOKEN: 'abc',
  });
  expect(env).toEqual(['vendor-secret-1', 'gh-secret-22', 'abc']);
  const restricted = restrictedContextValues(
    { ssn: '123-45-6789', team: 'platform', nested: { card: ['4111-1111'] } },
    { ssn: 'restricted', team: 'internal', nested: 'confidential' },
  );
  expect(restricted).toEqual(['123-45-6789', '4111-1111']);
  addSensitiveValues([...env, ...restricted]);
  expect(redact('vendor-secret-1 / gh-secret-22 / 123-45-6789 / 4111-1111 / abc / visible-value / platform')).toBe(
    `${REDACTED} / ${REDACTED} / ${REDACTED} / ${REDACTED} / abc / visible-value / platform`,
  );
});

test('an Error keeps its name and loses its secrets', () => {
  const out = redact(new TypeError('failed with Bearer abcdefgh12345678'));
  expect([out.name, out.message]).toEqual(['TypeError', `failed with Bearer ${REDACTED}`]);
});

test('process secrets stay hidden however many run values come after them; run values are bounded, least recently added first', () => {
  addProcessSecrets(['process-secret-at-start']);
  const run = (i: number) => `run-value-${String(i).padStart(6, '0')}`;
  // A full set of other values first, so what earlier tests added is gone and the count below is exact.
  addSensitiveValues(Array.from({ length: 10_000 }, (_, i) => `filler-${i}`));
  addSensitiveValues([run(0), run(1)]);
  // run(0) comes again, so it is now more recent than run(1): the one value over the bound evicts run(1).
  addSensitiveValues([run(0)]);
  // 9,998 fillers are left; 9,999 new values evict them and then the least recent run value.
  addSensitiveValues(Array.from({ length: 9_999 }, (_, i) => run(i + 2)));
  expect(redact('at start: process-secret-at-start')).toBe(`at start: ${REDACTED}`);
  expect(redact(run(10_000))).toBe(REDACTED);
  expect(redact(run(0))).toBe(REDACTED);
  expect(redact(run(1))).toBe(run(1));
});
