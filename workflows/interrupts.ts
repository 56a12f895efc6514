// What cuts a step short: the caller's cancel, the run's deadline, an operator's takeover and the
// budgets checked before each step. A step's work runs in its own cancellation scope, so an interrupt
// cancels just that work.
import { CancellationScope, isCancellation, sleep } from '@temporalio/workflow';
import type { TakeoverUpdateInput } from '../contracts/run';
import type { Interrupt } from './events';

/** The interrupts of one run, as its steps and the interpreter use them (a unit test supplies its own). */
export interface RunInterrupts {
  /** The first interrupt, once there is one. */
  readonly current: Interrupt | undefined;
  /** The operator's takeover, once one is accepted. */
  takeover: TakeoverUpdateInput | undefined;
  /** Runs a step's work so that an interrupt cancels it. */
  inStep<T>(work: () => Promise<T>): Promise<T>;
  /** Whether a step's work failed because it was interrupted (recording the caller's cancel if nothing else did). */
  interrupted(err: unknown): boolean;
  /** Interrupts the run: the first interrupt wins and cancels the step in flight. */
  interruptWith(type: Interrupt['type'], detail: string): void;
  /** Starts the run's deadline, `ms` from now. */
  armDeadline(ms: number): void;
}

/** Interrupts through Temporal cancellation scopes and a workflow timer. */
export class ScopedInterrupts implements RunInterrupts {
  current: Interrupt | undefined;
  takeover: TakeoverUpdateInput | undefined;
  private stepScope: CancellationScope | undefined;
  private stepWasCancelled = false;

  /** Runs a step's work in its own cancellation scope. */
  async inStep<T>(work: () => Promise<T>): Promise<T> {
    const scope = new CancellationScope();
    this.stepScope = scope;
    this.stepWasCancelled = false;
    try {
      return await scope.run(work);
    } finally {
      // A tool may fail with its own error when cancelled; what counts is that the scope was cancelled.
      this.stepWasCancelled = scope.consideredCancelled;
      this.stepScope = undefined;
    }
  }

  /** Whether the error is the step's cancellation; a cancellation nobody asked for inside the workflow is the caller's. */
  interrupted(err: unknown): boolean {
    if (!isCancellation(err) && !this.stepWasCancelled) return false;
    this.current ??= { type: 'cancelled', detail: 'cancelled through the API' };
    return true;
  }

  /** Records the first interrupt and cancels the step in flight. */
  interruptWith(type: Interrupt['type'], detail: string): void {
    this.current ??= { type, detail };
    this.stepScope?.cancel();
  }

  /** A workflow timer: it interrupts whatever is in flight, approvals included. */
  armDeadline(ms: number): void {
    void sleep(Math.max(ms, 1)).then(
      () => this.interruptWith('budget_exceeded', 'timeout_seconds'),
      () => undefined, // the run ended or was cancelled first
    );
  }
}
