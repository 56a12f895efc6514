import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decide } from '../../policies/engine';
import { PolicyError } from '../../policies/load';
import { currentPolicy, ReloadablePolicy } from '../../policies/reloadable';
import { thrown } from '../support/thrown';

// The live policy holder: a good reload swaps, a bad one keeps the previous policy and says where.
const catalog = { agents: ['docs-researcher', 'ticket-filer'], tools: ['docs_search', 'ticket_create'] };
const allow = `rules:
  - id: dispatchers-dispatch
    action: dispatch
    when: { roles: [dispatcher] }
    effect: allow
`;
const freeze = `rules:
  - id: freeze
    description: dispatch is frozen
    action: dispatch
    when: { roles: [dispatcher] }
    effect: deny
`;
const who = { subject: 's', tenant: 't', roles: ['dispatcher'] };
const effectOf = (h: ReloadablePolicy) => decide(h.current(), who, 'dispatch', { agent: 'docs-researcher' }, { environment: 'dev' });

let root: string;
let dir: string;
beforeEach(() => {
  root = mkdtempSync(path.join(process.env.TEST_TMP_DIR ?? os.tmpdir(), 'reloadable-'));
  dir = path.join(root, 'pols');
  mkdirSync(dir);
  writeFileSync(path.join(dir, '00-base.yaml'), allow);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

test('loads the folder at start; a bad file fails the start with file:line', () => {
  const h = ReloadablePolicy.load(dir, catalog);
  expect(h.status()).toMatchObject({ hash: h.current().hash, files: ['pols/00-base.yaml'], reloadable: true });
  expect(h.status().last_error).toBeUndefined();
  expect(effectOf(h)).toMatchObject({ effect: 'allow', rule: 'dispatchers-dispatch' });

  writeFileSync(path.join(dir, '10-bad.yaml'), 'rules: []\nbogus: 1\n');
  const err = thrown(() => ReloadablePolicy.load(dir, catalog));
  expect(err).toBeInstanceOf(PolicyError);
  expect(err.message).toMatch(/^pols\/10-bad\.yaml:\d+: .*bogus/);
});

test('a good reload swaps the policy and returns the old and new hash', () => {
  const h = ReloadablePolicy.load(dir, catalog);
  const before = h.current();
  writeFileSync(path.join(dir, '00-base.yaml'), freeze);
  const out = h.reload();
  expect(out).toEqual({
    reloaded: true,
    hash: h.current().hash,
    previous_hash: before.hash,
    loaded_at: expect.any(String),
    files: ['pols/00-base.yaml'],
  });
  expect(h.current().hash).not.toBe(before.hash);
  expect(effectOf(h)).toMatchObject({ effect: 'deny', rule: 'freeze' });
  // A caller still holding the old value (a run's input snapshot) is untouched by the swap.
  expect(decide(before, who, 'dispatch', { agent: 'docs-researcher' }, { environment: 'dev' }).effect).toBe('allow');
});

test.each([
  ['an unknown key', 'rules:\n  - id: x\n    action: dispatch\n    effect: allow\n    colour: red\n', 2, /colour/],
  ['a value of the wrong type', 'rules:\n  - id: x\n    action: dispatch\n    when: { roles: admin }\n    effect: allow\n', 4, /roles/],
  [
    'a rule naming a missing tool',
    'rules:\n  - id: x\n    action: tool_call\n    when:\n      tools: [rm_rf]\n    effect: allow\n',
    5,
    /unknown tools: rm_rf/,
  ],
  [
    'a rule naming a missing agent',
    'rules:\n  - id: x\n    action: dispatch\n    when: { agents: [ghost] }\n    effect: allow\n',
    4,
    /unknown agents: ghost/,
  ],
  ['YAML that does not parse', 'rules:\n  - id: x\n   action: [\n', 3, /not valid YAML/],
])('a reload with %s keeps the previous policy and names file:line; fixing the file reloads', (_what, text, line, reason) => {
  const h = ReloadablePolicy.load(dir, catalog);
  writeFileSync(path.join(dir, '00-base.yaml'), freeze);
  expect(h.reload().reloaded).toBe(true);
  const frozen = h.current();

  writeFileSync(path.join(dir, '20-broken.yaml'), text);
  const out = h.reload();
  expect(out).toMatchObject({ reloaded: false, hash: frozen.hash });
  if (out.reloaded) throw new Error('unreachable');
  expect(out.error).toMatch(new RegExp(`^pols/20-broken\\.yaml:${line}: `));
  expect(out.error).toMatch(reason);
  expect(h.current()).toBe(frozen);
  expect(effectOf(h)).toMatchObject({ effect: 'deny', rule: 'freeze' });
  expect(h.status()).toMatchObject({ hash: frozen.hash, files: ['pols/00-base.yaml'], last_error: { message: out.error } });

  rmSync(path.join(dir, '20-broken.yaml'));
  writeFileSync(path.join(dir, '00-base.yaml'), allow);
  const fixed = h.reload();
  expect(fixed).toMatchObject({ reloaded: true, previous_hash: frozen.hash });
  expect(effectOf(h).effect).toBe('allow');
  expect(h.status().last_error).toBeUndefined();
});

test('a folder that cannot be read keeps the previous policy', () => {
  const h = ReloadablePolicy.load(dir, catalog);
  const kept = h.current();
  rmSync(dir, { recursive: true });
  const out = h.reload();
  expect(out).toMatchObject({ reloaded: false, hash: kept.hash, error: expect.stringContaining('cannot read the policies') });
  mkdirSync(dir);
  const empty = h.reload();
  expect(empty).toMatchObject({ reloaded: false, error: expect.stringContaining('no policy files') });
  expect(h.current()).toBe(kept);
});

test('a policy given as a value is fixed, and currentPolicy reads either form', () => {
  const p = ReloadablePolicy.load(dir, catalog).current();
  const fixed = ReloadablePolicy.fixed(p);
  expect(fixed.reloadable).toBe(false);
  expect(fixed.reload()).toMatchObject({ reloaded: false, hash: p.hash });
  expect(fixed.current()).toBe(p);
  expect(currentPolicy(p)).toBe(p);
  expect(currentPolicy(fixed)).toBe(p);
});
