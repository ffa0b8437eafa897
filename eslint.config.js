// Flat config: typescript-eslint's recommended rules, plus the layering rules of the brief:
// shared <- (engine, store) <- jobs <- (app, server, cli); the renderer imports only shared.
import tseslint from 'typescript-eslint';

const layer = (files, forbidden, message) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      { patterns: forbidden.map((group) => ({ group: [group], message })) },
    ],
  },
});

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'out/', 'release/', 'coverage/', 'test-artifacts/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  layer(['shared/**'], ['**/src-main/**', '**/src-renderer/**', 'node:*', 'fs', 'path', 'electron'], 'shared/ is the contract: no Node, DOM-only or upper-layer imports.'),
  layer(['src-main/engine/**'], ['**/store/**', '**/jobs/**', '**/app/**', '**/server/**', '**/cli/**', 'electron', 'better-sqlite3'], 'The engine knows TF.js only: report through callbacks.'),
  layer(['src-main/store/**'], ['**/engine/**', '**/jobs/**', '**/app/**', '**/server/**', '**/cli/**', 'electron', '@tensorflow/*'], 'The store knows SQLite only.'),
  layer(['src-main/jobs/**'], ['**/app/**', '**/server/**', '**/cli/**', 'electron'], 'jobs sit below app, server and cli.'),
  layer(['src-renderer/**'], ['**/src-main/**', 'electron', 'node:*'], 'The renderer imports only shared/.'),
);
