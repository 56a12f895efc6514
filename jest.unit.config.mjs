// The inner loop (`npm run test:quick`): test/unit only, with no Temporal dev server to start, since
// no unit test talks to one. The shared teardown then only removes the scratch folder.
import base from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
  globalSetup: '<rootDir>/test/support/unit-setup.ts',
};
