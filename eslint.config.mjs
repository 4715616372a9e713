// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const domainSubgraphs = ['users', 'projects', 'tasks', 'files', 'notifications', 'analytics'];

/** Services are plain TypeScript: these stay out of `*.service.ts`. */
const noGraphql = ['graphql', 'type-graphql', '@apollo/server', '@apollo/subgraph', '@tm/kit/graphql'].map((name) => ({
  name,
  message: 'Services are plain TypeScript: no GraphQL.',
}));

/** Import patterns that reach into another workspace's domain code. */
const domainImports = (except) =>
  domainSubgraphs
    .filter((d) => d !== except)
    .flatMap((d) => [`@tm/${d}`, `@tm/${d}/*`, `**/subgraphs/${d}/**`, `../../${d}/*`, `../../../${d}/*`]);

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', '.devstack/**', 'jest.config.js', 'tools/live-board/src/gql/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        fetch: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        Buffer: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  // Boundaries (README: Adding a subgraph): a domain subgraph never imports another; the kit imports none;
  // the gateway imports only the kit; services know nothing of GraphQL.
  ...domainSubgraphs.flatMap((d) => {
    const patterns = [
      {
        group: [...domainImports(d), '@tm/gateway', '**/gateway/**'],
        message:
          'A domain subgraph imports only the kit; talk to other subgraphs through federation, events or the permissions client.',
      },
    ];
    return [
      { files: [`subgraphs/${d}/**/*.ts`], rules: { 'no-restricted-imports': ['error', { patterns }] } },
      {
        files: [`subgraphs/${d}/**/*.service.ts`],
        rules: { 'no-restricted-imports': ['error', { patterns, paths: noGraphql }] },
      },
    ];
  }),
  {
    files: ['subgraphs/kit/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [...domainImports(''), '@tm/gateway', '@tm/tools', '**/gateway/**'],
              message: 'The kit imports no domain subgraph.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['gateway/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: [...domainImports(''), '**/subgraphs/*/src/**'], message: 'The gateway imports only the kit.' }] },
      ],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },
);
