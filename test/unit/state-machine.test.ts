import fc from 'fast-check';
import type { StepType } from '../../contracts/run';
import {
  InvalidTransitionError,
  isTerminal,
  RUN_EVENTS,
  STEP_TYPES,
  TRANSITIONS,
  transition,
  type RunEventType as RunEvent,
} from '../../workflows/state-machine';

// The whole table, written out: every (step, event) pair and its expected outcome. A change to the
// table must change this list, so no transition changes by accident.
const EXPECTED: Record<StepType, Partial<Record<RunEvent, StepType>>> = {
  Plan: {
    tool_requested: 'ToolCall',
    final_proposed: 'Validate',
    model_failed: 'RetryFallback',
    model_denied: 'Fail',
    budget_denied: 'Decide',
  },
  ToolCall: { approval_required: 'HumanApproval', tool_denied: 'Fail', tool_succeeded: 'Validate', tool_failed: 'RetryFallback' },
  HumanApproval: { approved: 'ToolCall', rejected: 'Decide', retry: 'RetryFallback' },
  Validate: {
    output_valid: 'Decide',

    final_valid: 'Complete',
    final_invalid_repairable: 'Plan',
    final_invalid: 'Fail',
  },
  Decide: { continue: 'Plan', fallback: 'Plan', give_up: 'Fail' },
  RetryFallback: { retry: 'Plan', fallback: 'Plan', escalate: 'HumanApproval', give_up: 'Fail' },
  Complete: {},
  Fail: {},
};
const ANYWHERE: Partial<Record<RunEvent, StepType>> = { budget_exceeded: 'Fail', cancelled: 'Fail', taken_over: 'Complete' };

describe('the run transition table, exhaustively', () => {
  const pairs = STEP_TYPES.flatMap((from) => RUN_EVENTS.map((event) => [from, event] as const));
  test(`covers all ${STEP_TYPES.length} × ${RUN_EVENTS.length} pairs`, () => {
    expect(pairs).toHaveLength(STEP_TYPES.length * RUN_EVENTS.length);
  });

  test.each(pairs)('%s + %s', (from, event) => {
    const expected = isTerminal(from) ? undefined : (EXPECTED[from][event] ?? ANYWHERE[event]);
    if (expected === undefined) {
      expect(() => transition(from, event)).toThrow(InvalidTransitionError);
      expect(() => transition(from, event)).toThrow(`no transition from ${from} on ${event}`);
    } else {
      expect(transition(from, event)).toBe(expected);
    }
  });
});

describe('properties', () => {
  test('Complete and Fail are terminal: they accept no event', () => {
    for (const t of ['Complete', 'Fail'] as const) {
      expect(isTerminal(t)).toBe(true);
      expect(Object.keys(TRANSITIONS[t])).toEqual([]);
    }
  });

  test('every non-terminal step can reach Complete and Fail, and accepts cancel, budget and takeover', () => {
    const reach = (from: StepType): Set<StepType> => {
      const seen = new Set<StepType>([from]);
      const queue = [from];
      while (queue.length) {
        for (const next of Object.values(TRANSITIONS[queue.shift()!])) {
          if (next && !seen.has(next)) {
            seen.add(next);
            queue.push(next);
          }
        }
      }
      return seen;
    };
    for (const s of STEP_TYPES.filter((t) => !isTerminal(t))) {
      expect(reach(s).has('Complete')).toBe(true);
      expect(reach(s).has('Fail')).toBe(true);
      expect(transition(s, 'cancelled')).toBe('Fail');
      expect(transition(s, 'budget_exceeded')).toBe('Fail');
      expect(transition(s, 'taken_over')).toBe('Complete');
    }
  });

  test('any sequence of events either follows the table or stops at the first invalid one', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...RUN_EVENTS), { maxLength: 40 }), (events) => {
        let step: StepType = 'Plan';
        for (const e of events) {
          const next = TRANSITIONS[step][e];
          if (next === undefined) {
            expect(() => transition(step, e)).toThrow(InvalidTransitionError);
            return;
          }
          step = transition(step, e);
          expect(STEP_TYPES).toContain(step);
        }
      }),
    );
  });
});
