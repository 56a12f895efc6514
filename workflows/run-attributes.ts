// The run's search attributes as the workflow keeps them. Every upsert is a history event, so runs
// started under `lean-history` buffer what a step wants shown and write it once, when the workflow is
// about to wait (the end of the workflow task), and only the attributes whose value changed. Older runs
// upsert at once, as the code that wrote their history did (docs/changing-workflows.md).
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { RunSearchAttributes } from '../contracts/run-search-attributes';

type Pair = SearchAttributeUpdatePair;

/** One value's comparable form: absent, null and an empty list all mean "not set". */
function canonical(value: unknown): string {
  if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) return 'null';
  return JSON.stringify(value);
}

/** The run's search attributes: buffered and deduplicated when lean, written at once otherwise. */
export class RunAttributes {
  private readonly wanted = new Map<string, Pair>();
  private readonly shown = new Map<string, string>();

  constructor(private readonly lean: boolean) {
    if (!lean) return;
    // What the run starts with (the gateway sets RunState at start; continue-as-new carries them on).
    const current = workflowInfo().typedSearchAttributes;
    for (const key of [RunSearchAttributes.runState, RunSearchAttributes.pendingApprovers]) {
      this.shown.set(key.name, canonical(current.get(key)));
    }
  }

  /** Shows a value: at once for older runs, at the next flush for lean ones. */
  set(pair: Pair): void {
    if (!this.lean) {
      upsertSearchAttributes([pair]);
      return;
    }
    this.wanted.set(pair.key.name, pair);
  }

  /** Writes the wanted values that differ from what is shown, in one upsert; call before the run waits. */
  flush(): void {
    if (!this.lean || this.wanted.size === 0) return;
    const changed = [...this.wanted.values()].filter((p) => canonical(p.value) !== this.shown.get(p.key.name));
    this.wanted.clear();
    if (changed.length === 0) return;
    for (const p of changed) this.shown.set(p.key.name, canonical(p.value));
    upsertSearchAttributes(changed);
  }
}
