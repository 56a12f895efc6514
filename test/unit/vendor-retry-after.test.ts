import { retryAfterMs } from '../../activities/model/vendor-errors';

// How long a vendor asked us to wait, from each way vendors say it (the integration tests send a
// numeric Retry-After through Temporal; these cover the other forms the classifier reads).
const NOW = Date.parse('2026-12-02T12:00:00Z');

test.each([
  ['retry-after in seconds', { 'Retry-After': '3' }, undefined, 3000],
  ['retry-after as an HTTP date', { 'retry-after': 'Wed, 02 Dec 2026 12:00:07 GMT' }, undefined, 7000],
  ['retry-after-ms (OpenAI)', { 'retry-after-ms': '250' }, undefined, 250],
  ['the longer of retry-after-ms and retry-after', { 'retry-after-ms': '250', 'retry-after': '2' }, undefined, 2000],
  [
    'x-ratelimit-reset-* as a Go duration (OpenAI)',
    { 'x-ratelimit-reset-requests': '6m0s', 'x-ratelimit-reset-tokens': '1.5s' },
    undefined,
    360_000,
  ],
  ['x-ratelimit-reset-* in ms', { 'x-ratelimit-reset-tokens': '250ms' }, undefined, 250],
  ['anthropic-ratelimit-*-reset as a time', { 'anthropic-ratelimit-requests-reset': '2026-12-02T12:00:30Z' }, undefined, 30_000],
  [
    'Google RetryInfo retryDelay in the body',
    {},
    '{"error":{"details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"20s"}]}}',
    20_000,
  ],
])('%s', (_what, headers, body, expected) => {
  expect(retryAfterMs(headers, body, NOW)).toBe(expected);
});

test('retry-after wins over the reset headers, which only say when a window refills', () => {
  expect(retryAfterMs({ 'retry-after': '1', 'x-ratelimit-reset-requests': '6m0s' }, undefined, NOW)).toBe(1000);
});

test.each([
  ['no header', {}, undefined],
  ['garbage', { 'retry-after': 'soon' }, undefined],
  ['a time in the past', { 'anthropic-ratelimit-tokens-reset': '2026-12-02T11:59:00Z' }, undefined],
  ['a negative number', { 'retry-after-ms': '-5' }, undefined],
])('%s: the vendor did not say (Temporal backs off on its own)', (_what, headers, body) => {
  expect(retryAfterMs(headers, body, NOW)).toBeUndefined();
});
