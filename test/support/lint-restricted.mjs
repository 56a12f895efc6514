// Lints several (code, file) pairs with the project's real ESLint config in ONE process (a typed lint
// starts a TypeScript program, seconds each) and prints, per pair, the no-restricted-imports messages.
// Input on stdin: [{ "code": "...", "file": "workflows/x.ts" }, ...]. Output: [["message", ...], ...].
import { ESLint } from 'eslint';

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const cases = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const eslint = new ESLint({ cwd: process.cwd() });
const out = [];
for (const { code, file } of cases) {
  const [result] = await eslint.lintText(code, { filePath: file });
  out.push((result?.messages ?? []).filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports').map((m) => m.message));
}
process.stdout.write(JSON.stringify(out));
