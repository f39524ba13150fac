// Type-checked linting for every project in the monorepo.
import js from '@eslint/js';
import globals from 'globals';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

// A string that starts like a stream id of one of the catalogue's categories.
const STREAM_PREFIX = '/^(user|conversation|contact|receipts|username|session)-/';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.herald/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Nest injects classes by their runtime metadata: a type-only import would erase it.
      '@typescript-eslint/consistent-type-imports': 'off',
    },
  },
  {
    // Stream names come from the catalogue (streamIdOf, idOfStream, streamPrefixOf), which
    // owns the prefixes. 'warn' until every file is converted, then 'error'.
    ignores: ['events/**'],
    rules: {
      'no-restricted-syntax': [
        'warn',
        {
          selector: `Literal[value=${STREAM_PREFIX}]`,
          message: "A stream name: use streamIdOf / idOfStream / streamPrefixOf from '@herald/events'.",
        },
        {
          selector: `TemplateLiteral > TemplateElement:first-child[value.raw=${STREAM_PREFIX}]`,
          message: "A stream name: use streamIdOf / idOfStream / streamPrefixOf from '@herald/events'.",
        },
      ],
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: globals.node } },
  prettier,
);
