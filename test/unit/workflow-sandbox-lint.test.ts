import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../config/settings';

// The project's real ESLint config must keep Node built-ins (both spellings) and activity values
// out of workflow code, which runs in Temporal's deterministic sandbox, and keep the layers' imports
// one way. ESLint runs as its own process (its config is an ES module, which Jest's sandbox cannot
// import), once for all cases of this file: each typed lint of a new process costs seconds.
const CASES: Record<string, { code: string; file: string }> = {
  sandbox: {
    file: 'workflows/agent-run.ts',
    code: [
      "import { readFileSync } from 'node:fs';",
      "import { join } from 'path';",
      "import { createActivities } from '../activities';",
      "import type { Activities } from '../activities';",
      'export const used = [readFileSync, join, createActivities];',
      'export type A = Activities;',
      '',
    ].join('\n'),
  },
  outside: {
    file: 'gateway/app.ts',
    code: "import { readFileSync } from 'node:fs';\nimport { createActivities } from '../activities';\nexport const r = [readFileSync, createActivities];\n",
  },
  contracts: { file: 'contracts/run.ts', code: "import type { Settings } from '../config/settings';\nexport type S = Settings;\n" },
  policies: { file: 'policies/load.ts', code: "import type { Action } from '../gateway/authz';\nexport type A = Action;\n" },
  nested: {
    file: 'workflows/steps/plan.ts',
    code: "import { GovernanceStore } from '../../governance/store';\nexport const G = GovernanceStore;\n",
  },
  allowed: { file: 'gateway/app.ts', code: "import { argsHash } from '../shared/canonical';\nexport const h = argsHash;\n" },
  sharedNode: { file: 'shared/canonical.ts', code: "import { createHash } from 'node:crypto';\nexport const h = createHash;\n" },
  contractsNode: { file: 'contracts/run.ts', code: "import { createHash } from 'node:crypto';\nexport const h = createHash;\n" },
};
let linted: Record<string, string[]> | undefined;

function restrictedImports(name: keyof typeof CASES): string[] {
  if (!linted) {
    const names = Object.keys(CASES);
    const res = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'test', 'support', 'lint-restricted.mjs')], {
      cwd: PROJECT_ROOT,
      input: JSON.stringify(names.map((n) => CASES[n])),
      encoding: 'utf8',
    });
    if (res.status !== 0) throw new Error(`eslint failed: ${res.stderr}`);
    const out = JSON.parse(res.stdout) as string[][];
    linted = Object.fromEntries(names.map((n, i) => [n, out[i] ?? []]));
  }
  return linted[name]!;
}

test('workflows/ rejects Node built-ins in both spellings and activity values, but allows activity types', () => {
  const messages = restrictedImports('sandbox');
  expect(messages).toHaveLength(3);
  expect(messages.filter((m) => m.includes('deterministic'))).toHaveLength(2);
  expect(messages.filter((m) => m.includes('types only'))).toHaveLength(1);
});

test('the same imports are fine outside workflows/', () => {
  expect(restrictedImports('outside')).toEqual([]);
});

test('layers import one way: the ground floor imports nothing above it', () => {
  expect(restrictedImports('contracts')).toEqual([expect.stringContaining('contracts/ may import only contracts')]);
  expect(restrictedImports('policies')).toEqual([expect.stringContaining('policies/ may import only')]);
  expect(restrictedImports('nested')).toEqual([expect.stringContaining('workflows/ may import only')]);
  expect(restrictedImports('allowed')).toEqual([]);
});

test('shared/ and contracts/ are sandbox code too: no Node built-ins', () => {
  expect(restrictedImports('sharedNode')).toEqual([expect.stringContaining('deterministic')]);
  expect(restrictedImports('contractsNode')).toEqual([expect.stringContaining('deterministic')]);
});
