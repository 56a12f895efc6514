/**
 * A workflow interceptor module that uses SDK flag 6 (`OpenTelemetryInterceptorsInstrumentsAllMethods`)
 * in the run's first workflow task, so the flag is written to the history there.
 *
 * Why: with SDK 1.24.0 the OpenTelemetry workflow interceptors first ask for this flag when they
 * validate or handle an update (or answer a query). When the first update a run gets is refused by its
 * validator, that happens in a speculative workflow task, which the server drops: the flag never reaches
 * the history, later tasks behave as if it were on, and a replay (a worker restart, a query after the run
 * left the cache, `npm run replay`) takes the other path and fails with "Update machine does not handle
 * this event … TimerCanceled". Asking in the first task changes no command, and a history recorded
 * before this module replays as before: while replaying, the flag is on only where the history says so.
 * Proven by test/workflow/refused-update-replay.test.ts. It reaches into the SDK's internal modules (the
 * OpenTelemetry package does the same); the SDK is pinned, and the test fails if they move.
 *
 * @module
 */
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { SdkFlags } from '@temporalio/workflow/lib/flags';
import { getActivator } from '@temporalio/workflow/lib/global-attributes';

export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [
    {
      execute(input, next) {
        getActivator().hasFlag(SdkFlags.OpenTelemetryInterceptorsInstrumentsAllMethods);
        return next(input);
      },
    },
  ],
});
