/** One jest run for every workspace; real Redis + MongoDB-compatible store from the global setup. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/subgraphs', '<rootDir>/gateway', '<rootDir>/tools'],
  testMatch: ['**/test/**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }] },
  moduleNameMapper: {
    '^@tm/kit/(.*)$': '<rootDir>/subgraphs/kit/src/$1/index.ts',
    '^@tm/tools/(.*)$': '<rootDir>/tools/src/$1',
  },
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/'],
  globalSetup: '<rootDir>/tools/src/testing/global-setup.ts',
  globalTeardown: '<rootDir>/tools/src/testing/global-teardown.ts',
  testTimeout: 30_000,
  maxWorkers: 2,
};
