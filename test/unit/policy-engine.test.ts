import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { PROJECT_ROOT } from '../../config/settings';
import { LABELS, type PolicyAction, type PolicyContext, type PolicyResource } from '../../contracts/policy';
import type { Principal } from '../../contracts/principal';
import { decide, runBudgetFor, tenantBudgetFor } from '../../policies/engine';
import { compilePolicy, loadPolicyDir, PolicyError } from '../../policies/load';
import { policyCheck } from '../../scripts/policy-check';

const catalog = { agents: ['docs-researcher', 'ticket-filer'], tools: ['docs_search', 'ticket_create'] };
const policy = loadPolicyDir(path.join(PROJECT_ROOT, 'policies'), catalog);
const who = (roles: string[]): Principal => ({ subject: 's', tenant: 't', roles });
const dev: PolicyContext = { environment: 'dev' };
const prod: PolicyContext = { environment: 'prod' };

/** Each row: what is asked, who asks, the action, the resource, the context, the effect and the rule that decides. */
const DEFAULT_POLICY_CASES: [string, Principal, PolicyAction, PolicyResource, PolicyContext, string, string][] = [
  [
    'a dispatcher dispatches',
    who(['dispatcher']),
    'dispatch',
    { agent: 'docs-researcher', intent: 'question' },
    dev,
    'allow',
    'dispatchers-dispatch',
  ],
  ['an approver may not dispatch', who(['approver']), 'dispatch', { agent: 'docs-researcher' }, dev, 'deny', 'default-deny'],
  [
    'an admin intent is reserved',
    who(['dispatcher']),
    'dispatch',
    { agent: 'docs-researcher', intent: 'grant me admin rights' },
    dev,
    'deny',
    'admin-intents-reserved',
  ],
  [
    'an admin may send it',
    who(['admin']),
    'dispatch',
    { agent: 'docs-researcher', intent: 'grant me admin rights' },
    dev,
    'allow',
    'dispatchers-dispatch',
  ],
  [
    'a read tool in dev',
    who([]),
    'tool_call',
    { agent: 'ticket-filer', tool: 'docs_search', side_effect: 'read', max_classification: 'internal' },
    dev,
    'allow',
    'tools-allowed',
  ],
  [
    'a write tool in dev',
    who([]),
    'tool_call',
    { agent: 'ticket-filer', tool: 'ticket_create', side_effect: 'write', max_classification: 'internal' },
    dev,
    'allow',
    'tools-allowed',
  ],
  [
    'a write tool in prod',
    who([]),
    'tool_call',
    { agent: 'ticket-filer', tool: 'ticket_create', side_effect: 'write', max_classification: 'internal' },
    prod,
    'require_approval',
    'prod-writes-need-approval',
  ],
  [
    'confidential data to an internal tool',
    who([]),
    'tool_call',
    { agent: 'docs-researcher', tool: 'docs_search', side_effect: 'read', max_classification: 'internal' },
    { environment: 'dev', data_classification: 'confidential' },
    'deny',
    'no-data-above-clearance',
  ],
  [
    'internal data to an internal tool',
    who([]),
    'tool_call',
    { agent: 'docs-researcher', tool: 'docs_search', side_effect: 'read', max_classification: 'internal' },
    { environment: 'dev', data_classification: 'internal' },
    'allow',
    'tools-allowed',
  ],
  ['a model call', who([]), 'model_call', { agent: 'docs-researcher' }, dev, 'allow', 'models-allowed'],
];

describe('the default policy, rule by rule', () => {
  test.each(DEFAULT_POLICY_CASES)('%s', (_n, p, action, r, c, effect, rule) => {
    const d = decide(policy, p, action, r, c);
    expect([d.effect, d.rule]).toEqual([effect, rule]);
    expect(d.reason).toBeTruthy();
    if (effect === 'require_approval') expect(d.approvers).toEqual({ roles: ['approver'], subjects: [] });
  });

  test('reasons name the rule and where it is written', () => {
    expect(decide(policy, who(['dispatcher']), 'dispatch', { agent: 'ticket-filer' }, dev).reason).toMatch(
      /^dispatchers and admins may dispatch any agent \(policies\/default\.yaml:\d+\)$/,
    );
  });
});

describe('budget rules', () => {
  const budget = compilePolicy(
    [
      {
        file: 'b.yaml',
        text: 'rules:\n  - { id: models, action: model_call, effect: allow }\n  - { id: tokens, action: model_call, when: { run_tokens_over: 1000 }, effect: deny }\n  - { id: cost, action: model_call, when: { run_cost_over: 2.5 }, effect: deny }\n',
      },
    ],
    catalog,
  );
  test.each([
    [{ run_tokens: 1000, run_cost_usd: 0 }, 'allow', 'models'],
    [{ run_tokens: 1001, run_cost_usd: 0 }, 'deny', 'tokens'],
    [{ run_tokens: 0, run_cost_usd: 2.6 }, 'deny', 'cost'],
  ])('%j → %s by %s', (ctx, effect, rule) => {
    const d = decide(budget, who([]), 'model_call', { agent: 'docs-researcher' }, { environment: 'dev', ...ctx });
    expect([d.effect, d.rule]).toEqual([effect, rule]);
  });
});

describe('destructive tools (an MCP tool whose server says destructiveHint)', () => {
  const destructive = compilePolicy(
    [
      {
        file: 'd.yaml',
        text: "rules:\n  - { id: tools, action: tool_call, when: { tools: ['*'] }, effect: allow }\n  - { id: destructive-needs-approval, action: tool_call, when: { destructive: true }, effect: require_approval, approvers: { roles: [approver] } }\n  - { id: plain-writes-in-prod, action: tool_call, when: { destructive: false, side_effect: write, environments: [prod] }, effect: deny }\n",
      },
    ],
    catalog,
  );
  test.each([
    [{ tool: 'docs_search', side_effect: 'write', destructive: true }, dev, 'require_approval', 'destructive-needs-approval'],
    [{ tool: 'docs_search', side_effect: 'write' }, dev, 'allow', 'tools'],
    [{ tool: 'docs_search', side_effect: 'write' }, prod, 'deny', 'plain-writes-in-prod'],
    [{ tool: 'docs_search', side_effect: 'write', destructive: true }, prod, 'require_approval', 'destructive-needs-approval'],
  ] as [PolicyResource, PolicyContext, string, string][])('%j in %j → %s by %s', (resource, ctx, effect, rule) => {
    const d = decide(destructive, who([]), 'tool_call', resource, ctx);
    expect([d.effect, d.rule]).toEqual([effect, rule]);
  });
});

describe('budgets: per run, per agent, per tenant per day', () => {
  const budgets = compilePolicy(
    [
      {
        file: 'a.yaml',
        text: 'budgets:\n  run: { max_tokens: 50000, max_cost_usd: 2 }\n  agents:\n    ticket-filer: { max_cost_usd: 0.5 }\n    docs-researcher: { max_tokens: 90000 }\n',
      },
      {
        file: 'b.yaml',
        text: "budgets:\n  tenants:\n    '*': { daily_cost_usd: 100 }\n    acme: { daily_cost_usd: 5, daily_tokens: 100000 }\n",
      },
    ],
    catalog,
  );
  test.each([
    ['ticket-filer', { max_tokens: 50000, max_cost_usd: 0.5 }],
    ['docs-researcher', { max_tokens: 50000, max_cost_usd: 2 }],
  ])('a run of %s gets the tighter of run and agent budgets: %j', (agent, expected) => {
    expect(runBudgetFor(budgets, agent)).toEqual(expected);
  });
  test.each([
    ['acme', { daily_cost_usd: 5, daily_tokens: 100000 }],
    ['globex', { daily_cost_usd: 100 }],
  ])("tenant %s's daily budget is its own entry, else '*': %j", (tenant, expected) => {
    expect(tenantBudgetFor(budgets, tenant)).toEqual(expected);
  });
  test('no budgets section means no limits from the policy', () => {
    const none = compilePolicy([{ file: 'r.yaml', text: 'rules: []\n' }], catalog);
    expect(runBudgetFor(none, 'ticket-filer')).toEqual({});
    expect(tenantBudgetFor(none, 'acme')).toBeUndefined();
    expect(tenantBudgetFor(undefined, 'acme')).toBeUndefined();
  });
  test('the default policy gives every tenant a daily ceiling', () => {
    expect(tenantBudgetFor(policy, 'anyone')).toEqual({ daily_cost_usd: 100 });
  });
});

describe('bad policy files fail at load with file, line and reason', () => {
  const bad = (text: string) => () => compilePolicy([{ file: 'p.yaml', text }], catalog);
  test.each([
    ['an unknown key', 'rules:\n  - id: a\n    action: dispatch\n    effect: allow\n    colour: red\n', /^p\.yaml:2: rules\.0: .*colour/],
    [
      'a bad type',
      'rules:\n  - id: a\n    action: dispatch\n    effect: allow\n    when:\n      run_tokens_over: many\n',
      /^p\.yaml:6: rules\.0\.when\.run_tokens_over:/,
    ],
    [
      'a missing agent',
      'rules:\n  - id: a\n    action: dispatch\n    effect: allow\n    when:\n      agents: [ghost]\n',
      /^p\.yaml:6: rule "a" names unknown agents: ghost/,
    ],
    [
      'a missing tool',
      'rules:\n  - id: a\n    action: tool_call\n    effect: allow\n    when: { tools: [docs_search, rm_rf] }\n',
      /^p\.yaml:5: rule "a" names unknown tools: rm_rf/,
    ],
    [
      'approval without approvers',
      'rules:\n  - id: a\n    action: tool_call\n    effect: require_approval\n',
      /^p\.yaml:\d+: rules\.0\.approvers: require_approval needs approvers/,
    ],
    [
      'approvers naming nobody (an approval no one may decide)',
      'rules:\n  - id: a\n    action: tool_call\n    effect: require_approval\n    approvers: {}\n',
      /^p\.yaml:\d+: rules\.0\.approvers: name at least one role or subject/,
    ],
    [
      'a duplicate id',
      'rules:\n  - { id: a, action: dispatch, effect: allow }\n  - { id: a, action: dispatch, effect: deny }\n',
      /^p\.yaml:3: rule id "a" is used twice/,
    ],
    ['broken YAML', 'rules:\n  - id: [a\n', /^p\.yaml:\d+: not valid YAML/],
    [
      'a budget for a missing agent',
      'budgets:\n  agents:\n    ghost: { max_cost_usd: 1 }\n',
      /^p\.yaml:3: budgets\.agents names unknown agent: ghost/,
    ],
    [
      'a budget for a missing agent, written as a block (the line of its key)',
      'budgets:\n  agents:\n    ghost:\n      max_cost_usd: 1\n',
      /^p\.yaml:3: budgets\.agents names unknown agent: ghost/,
    ],
    [
      'a budget of a bad type',
      'budgets:\n  tenants:\n    acme:\n      daily_cost_usd: lots\n',
      /^p\.yaml:4: budgets\.tenants\.acme\.daily_cost_usd:/,
    ],
    ['an unknown budget key', 'budgets:\n  tenants:\n    acme: { monthly_usd: 3 }\n', /^p\.yaml:3: budgets\.tenants\.acme: .*monthly_usd/],
  ])('%s', (_name, text, message) => {
    expect(bad(text)).toThrow(PolicyError);
    expect(bad(text)).toThrow(message);
  });
});

test('a budget set in two files is an error naming both places', () => {
  const twice = () =>
    compilePolicy(
      [
        { file: 'a.yaml', text: 'budgets:\n  tenants:\n    acme: { daily_cost_usd: 5 }\n' },
        { file: 'b.yaml', text: 'rules: []\nbudgets:\n  tenants:\n    acme: { daily_cost_usd: 50 }\n' },
      ],
      catalog,
    );
  expect(twice).toThrow(/^b\.yaml:4: budgets\.tenants\.acme is already set at a\.yaml:3$/);
});

test('the policy hash changes with the policy text and only with it', () => {
  const text = readFileSync(path.join(PROJECT_ROOT, 'policies', 'default.yaml'), 'utf8');
  const a = compilePolicy([{ file: 'default.yaml', text }], catalog);
  expect(compilePolicy([{ file: 'default.yaml', text }], catalog).hash).toBe(a.hash);
  expect(compilePolicy([{ file: 'default.yaml', text: text + '\n# a comment\n' }], catalog).hash).not.toBe(a.hash);
});

test('decide is total and deterministic over any principal, action, resource and context', () => {
  const str = fc.string({ maxLength: 12 });
  const label = fc.option(fc.constantFrom(...LABELS), { nil: undefined });
  fc.assert(
    fc.property(
      fc.record({ subject: str, tenant: str, roles: fc.array(fc.constantFrom('dispatcher', 'admin', 'approver', 'x'), { maxLength: 3 }) }),
      fc.constantFrom<PolicyAction>('dispatch', 'tool_call', 'model_call'),
      fc.record(
        {
          agent: fc.oneof(str, fc.constantFrom(...catalog.agents)),
          tool: fc.oneof(str, fc.constantFrom(...catalog.tools)),
          side_effect: fc.constantFrom('read' as const, 'write' as const),
          max_classification: label,
          intent: fc.oneof(str, fc.constant('admin please')),
        },
        { requiredKeys: [] },
      ),
      fc.record({
        environment: fc.constantFrom('dev', 'staging', 'prod'),
        data_classification: label,
        run_tokens: fc.nat(),
        run_cost_usd: fc.double({ min: 0, max: 100, noNaN: true }),
      }),
      (p, action, r, c) => {
        const first = decide(policy, p, action, r, c);
        expect(['allow', 'deny', 'require_approval']).toContain(first.effect);
        expect(first.rule).toBeTruthy();
        expect(decide(policy, p, action, r, c as PolicyContext)).toEqual(first);
      },
    ),
    { numRuns: 500 },
  );
});

describe('npm run policy:check', () => {
  test('prints the decision and the rule for a principal, action and resource', () => {
    const d = policyCheck(['--roles', 'dispatcher', '--action', 'dispatch', '--agent', 'docs-researcher', '--intent', 'make me admin']);
    expect(d).toMatchObject({ effect: 'deny', rule: 'admin-intents-reserved', policy_hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(policyCheck(['--action', 'tool_call', '--agent', 'ticket-filer', '--tool', 'ticket_create', '--env', 'prod'])).toMatchObject({
      effect: 'require_approval',
      rule: 'prod-writes-need-approval',
    });
    expect(policyCheck(['--action', 'model_call', '--agent', 'docs-researcher', '--tenant', 'acme'])).toMatchObject({
      effect: 'allow',
      rule: 'models-allowed',
      budgets: { run: {}, tenant_daily: { daily_cost_usd: 100 } },
    });
  });

  test('refuses a question it cannot ask', () => {
    expect(() => policyCheck(['--action', 'fly'])).toThrow(/--action must be/);
    expect(() => policyCheck(['--action', 'tool_call', '--tool', 'rm_rf'])).toThrow(/unknown tool rm_rf/);
    expect(() => policyCheck(['--colour', 'red'])).toThrow();
  });
});
