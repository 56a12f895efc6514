// @ts-check
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

// Layers import one way, ground floor first (docs/architecture.md). Each folder may import the folders
// listed for it (and itself); anything else of the project is refused.
const ALL = [
  'contracts',
  'shared',
  'config',
  'observability',
  'policies',
  'workflows',
  'activities',
  'governance',
  'temporal',
  'agents',
  'gateway',
  'worker',
  'evals',
  'scripts',
  'bench',
];
const INFRA = ['contracts', 'shared', 'config', 'observability'];
const MAY_IMPORT = {
  contracts: [],
  shared: ['contracts'],
  config: ['contracts', 'shared'],
  observability: ['contracts', 'shared', 'config'],
  policies: [...INFRA],
  workflows: ['contracts', 'shared', 'policies'],
  governance: [...INFRA],
  activities: [...INFRA, 'policies', 'governance'],
  temporal: [...INFRA],
  agents: [...INFRA, 'policies', 'activities'],
  gateway: [...INFRA, 'policies', 'workflows', 'activities', 'governance', 'agents'],
  worker: [...INFRA, 'policies', 'workflows', 'activities', 'governance', 'agents', 'temporal'],
  // The eval harness runs agents as production does: a real worker (worker/) and the input and context
  // checks the gateway applies at dispatch (gateway/labels.ts), so it sits above both; scripts and the
  // jest suites call it, so the command and the tests share one implementation.
  evals: [...INFRA, 'policies', 'workflows', 'activities', 'governance', 'agents', 'temporal', 'worker', 'gateway'],
  scripts: ALL.filter((f) => f !== 'bench'),
  bench: ALL,
};

function layerRules() {
  return Object.entries(MAY_IMPORT)
    .map(([folder, allowed]) => {
      const refused = ALL.filter((f) => f !== folder && !allowed.includes(f));
      const patterns = [];
      if (refused.length > 0) {
        patterns.push({
          regex: `^(\\.\\./)+(${refused.join('|')})(/|$)`,
          // Workflows reach activities through proxyActivities, by type.
          allowTypeImports: folder === 'workflows',
          message:
            `${folder}/ may import only ${[...allowed, folder].join(', ')}: layers import one way (docs/architecture.md).` +
            (folder === 'workflows' ? ' Import activities as types only, through proxyActivities.' : ''),
        });
      }
      const sandboxed = folder === 'workflows' || folder === 'shared' || folder === 'contracts';
      return {
        files: [`${folder}/**/*.ts`],
        // An agent's tests run it through the whole platform (the eval harness): tests sit above every layer.
        ...(folder === 'agents' ? { ignores: ['agents/**/*.test.ts'] } : {}),
        rules: {
          '@typescript-eslint/no-restricted-imports': [
            'error',
            {
              ...(sandboxed
                ? {
                    paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code must stay deterministic: do I/O in activities/.' })),
                  }
                : {}),
              patterns,
            },
          ],
        },
      };
    })
    .concat(
      // The pure files outside those folders that the sandbox loads.
      ['policies/engine.ts', 'bench/workflows.ts'].map((file) => ({
        files: [file],
        rules: {
          '@typescript-eslint/no-restricted-imports': [
            'error',
            {
              paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code must stay deterministic: do I/O in activities/.' })),
              patterns: [
                {
                  regex: '(^|/)activities(/|$)',
                  allowTypeImports: true,
                  message: 'Import activities as types only, through proxyActivities.',
                },
              ],
            },
          ],
        },
      })),
    );
}

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', '.temporal/', 'node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', '*.mjs'] }, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // Interface implementations (providers, tools) are async by contract even when they need no await.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Long functions are split along their seams into named helpers (tests: one describe per concern).
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  ...layerRules(),
  {
    files: ['**/*.test.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  prettier,
);
