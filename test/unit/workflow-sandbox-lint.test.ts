import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../config/settings';

// The project's real ESLint config must keep Node built-ins (both spellings) and activity values
// out of workflow code, which runs in Temporal's deterministic sandbox. ESLint runs as its own
// process (its config is an ES module, which Jest's sandbox cannot import).
async function restrictedImports(code: string, file: string): Promise<string[]> {
  const eslint = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'eslint');
  const res = spawnSync(eslint, ['--stdin', '--stdin-filename', file, '--format', 'json'], {
    cwd: PROJECT_ROOT,
    input: code,
    encoding: 'utf8',
  });
  const results = JSON.parse(res.stdout) as { messages: { ruleId: string | null; message: string }[] }[];
  return (results[0]?.messages ?? []).filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports').map((m) => m.message);
}

test('workflows/ rejects Node built-ins in both spellings and activity values, but allows activity types', async () => {
  const code = [
    "import { readFileSync } from 'node:fs';",
    "import { join } from 'path';",
    "import { createActivities } from '../activities';",
    "import type { Activities } from '../activities';",
    'export const used = [readFileSync, join, createActivities];',
    'export type A = Activities;',
    '',
  ].join('\n');
  const messages = await restrictedImports(code, 'workflows/agent-run.ts');
  expect(messages).toHaveLength(3);
  expect(messages.filter((m) => m.includes('deterministic'))).toHaveLength(2);
  expect(messages.filter((m) => m.includes('types only'))).toHaveLength(1);
});

test('the same imports are fine outside workflows/', async () => {
  const code =
    "import { readFileSync } from 'node:fs';\nimport { createActivities } from '../activities';\nexport const r = [readFileSync, createActivities];\n";
  expect(await restrictedImports(code, 'gateway/app.ts')).toEqual([]);
});

test('layers import one way: the ground floor imports nothing above it', async () => {
  const contracts = "import type { Settings } from '../config/settings';\nexport type S = Settings;\n";
  expect(await restrictedImports(contracts, 'contracts/run.ts')).toEqual([expect.stringContaining('contracts/ may import only contracts')]);
  const policies = "import type { Principal } from '../gateway/principal';\nexport type P = Principal;\n";
  expect(await restrictedImports(policies, 'policies/load.ts')).toEqual([expect.stringContaining('policies/ may import only')]);
  const nested = "import { GovernanceStore } from '../governance/store';\nexport const G = GovernanceStore;\n";
  expect(await restrictedImports(nested, 'workflows/state-machine.ts')).toEqual([expect.stringContaining('workflows/ may import only')]);
  const allowed = "import { argsHash } from '../shared/canonical';\nexport const h = argsHash;\n";
  expect(await restrictedImports(allowed, 'gateway/app.ts')).toEqual([]);
});

test('shared/ and contracts/ are sandbox code too: no Node built-ins', async () => {
  const code = "import { createHash } from 'node:crypto';\nexport const h = createHash;\n";
  expect(await restrictedImports(code, 'shared/canonical.ts')).toEqual([expect.stringContaining('deterministic')]);
  expect(await restrictedImports(code, 'contracts/run.ts')).toEqual([expect.stringContaining('deterministic')]);
});
