import { condition, defineSignal, setHandler } from '@temporalio/workflow';

// A workflow registered under the run workflow's name that answers no `state` query: what a worker of
// another build, or a mis-deployed one, would run. It waits for a signal so the test decides its end.

export const finish = defineSignal('finish');

/** Waits for `finish`; defines no queries. */
export async function agentRun(): Promise<string> {
  let done = false;
  setHandler(finish, () => {
    done = true;
  });
  await condition(() => done);
  return 'finished';
}
