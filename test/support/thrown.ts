/** The error `fn` throws, so a test can assert on its class and message; fails when nothing is thrown. */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error, got none');
}
