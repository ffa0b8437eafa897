// Flat config: typescript-eslint's recommended rules, plus the layering rules of the brief:
// shared <- (engine, store) <- jobs <- (app, server, cli); the renderer imports only shared.
import tseslint from 'typescript-eslint';

const layer = (files, forbidden, message) => ({
  files,
  rules: {
    'no-restricted-imports': ['error', { patterns: forbidden.map((group) => ({ group: [group], message })) }],
  },
});

// The engine never reads a tensor synchronously where it may live on a GPU: dataSync/arraySync/
// bufferSync stall the device (and throw on webgpu in Node). Read with `await tensor.data()`, or, in a
// host strategy that runs only where reads are cheap, with readHostSync (engine/backend/host-read.ts).
// engine/backend is exempt: its wasm kernels work on host memory by design.
const SYNC_READ_CLEAN = [
  'src-main/engine/ssl/**',
  'src-main/engine/nn/**',
  'src-main/engine/data/**',
  'src-main/engine/models/**',
  'src-main/engine/train/**',
  'src-main/engine/eval/**',
  'src-main/engine/inspect/**',
  'src-main/engine/detection/**',
  'src-main/engine/export/**',
  'src-main/engine/probe/**',
];
const noSyncReads = {
  files: SYNC_READ_CLEAN,
  rules: {
    'no-restricted-properties': [
      'error',
      ...['dataSync', 'arraySync', 'bufferSync'].map((property) => ({
        property,
        message:
          'No synchronous tensor reads in the engine (GPU backends): await tensor.data(), or readHostSync in a host-only strategy.',
      })),
    ],
  },
};

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'out/', 'release/', 'coverage/', 'test-artifacts/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  layer(
    ['shared/**'],
    ['**/src-main/**', '**/src-renderer/**', 'node:*', 'fs', 'path', 'electron'],
    'shared/ is the contract: no Node, DOM-only or upper-layer imports.',
  ),
  layer(
    ['src-main/engine/**'],
    ['**/store/**', '**/jobs/**', '**/app/**', '**/server/**', '**/cli/**', 'electron', 'better-sqlite3'],
    'The engine knows TF.js only: report through callbacks.',
  ),
  layer(
    ['src-main/store/**'],
    ['**/engine/**', '**/jobs/**', '**/app/**', '**/server/**', '**/cli/**', 'electron', '@tensorflow/*'],
    'The store knows SQLite only.',
  ),
  layer(
    ['src-main/jobs/**'],
    ['**/app/**', '**/server/**', '**/cli/**', 'electron'],
    'jobs sit below app, server and cli.',
  ),
  layer(['src-renderer/**'], ['**/src-main/**', 'electron', 'node:*'], 'The renderer imports only shared/.'),
  noSyncReads,
);
