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
