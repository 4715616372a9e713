import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed operations from the committed public schema (schema/api.graphql): `npm run codegen -w @tm/live-board`
 * writes src/gql/. LIVE_BOARD_CODEGEN_OUT sends the output elsewhere (the staleness test compares the two).
 */
const out = process.env.LIVE_BOARD_CODEGEN_OUT ?? 'src/gql/';

const config: CodegenConfig = {
  schema: '../../schema/api.graphql',
  documents: ['src/**/*.{ts,tsx}', '!src/gql/**'],
  ignoreNoDocuments: false,
  generates: {
    [out]: {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { onlyOperationTypes: true, enumsAsTypes: true, useTypeImports: true, scalars: { DateTime: 'string' } },
    },
  },
};

export default config;
