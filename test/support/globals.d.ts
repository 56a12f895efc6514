import type { DevServer } from '../../temporal/dev-server';

declare global {
  // Set by global-setup, read by global-teardown (Jest shares globals between the two only).
  var __TEMPORAL_DEV_SERVER__: DevServer | undefined;
}
