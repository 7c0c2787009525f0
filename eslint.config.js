// ESLint: typescript-eslint's type-aware recommended rules, tuned to this codebase (each rule turned
// off or loosened says why), and import-x/no-cycle (issue 18: no import cycles). Formatting is Prettier's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX, createNodeResolver } from 'eslint-plugin-import-x';

export default tseslint.config(
  { ignores: ['dist/', 'web-dist/', 'native/build/', 'node_modules/', '.tmp/', 'test-artifacts/', 'out/', 'demo-out/', 'bench-out/', '.gpu-check*/'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX },
    settings: {
      // no-cycle parses each imported file itself: TypeScript files need the TypeScript parser
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      // sources import './x.js' for './x.ts' (NodeNext): resolve the .ts first
      'import-x/resolver-next': [createNodeResolver({ extensionAlias: { '.js': ['.ts', '.js'] } })],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      // `_`-prefixed names hold a place in a signature; a rest-split's named leftovers are what it removes
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // noUncheckedIndexedAccess is off, so `xs[i]!` changes no type; the `!` marks the reads that would need a check with it on
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // an async function that implements a Promise-returning contract (InferenceEngine.run, release) turns a throw into a rejection
      '@typescript-eslint/require-await': 'off',
      // messages print shapes and lists as `1,3,512,512`, which is what they mean
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowArray: true }],
      // error messages name values of unknown type after the checks that rule out plain objects (errors.ts describe, the pickle reader)
      '@typescript-eslint/no-base-to-string': 'off',
      // `'auto' | 'cpu' | string` documents the known values of an open string parameter
      '@typescript-eslint/no-redundant-type-constituents': 'off',
      // an AbortSignal's reason (typed any) is passed on as it is, as fetch does
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true }],
      // counters use `cond ? a++ : b++` (eval/image.ts)
      '@typescript-eslint/no-unused-expressions': ['error', { allowTernary: true }],
      // a `let` given a value before a try block stays defined for code after a catch that falls through
      'no-useless-assignment': 'off',
      // the CLI's progress bars and their tests match ANSI escapes (\x1b) on purpose
      'no-control-regex': 'off',
    },
  },
  {
    files: ['test/**'],
    rules: {
      // node:test runs and awaits the promise test() returns
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] },
      ],
      // tests read parsed JSON (res.json(), fixtures) field by field: the assertion on each field is its type check
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', performance: 'readonly' } },
  },
);
