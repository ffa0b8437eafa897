/** Runs the `selfemd` command as a user does, in a given $SELFEMD_HOME, for the CLI tests. */
import { execFile } from 'node:child_process';
import * as path from 'node:path';

const BIN = path.resolve(__dirname, '../../bin/selfemd.mjs');

/** Asynchronous on purpose: a blocking spawn would starve the test runner's own heartbeat. */
export function runSelfemd(
  home: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, SELFEMD_HOME: home, ...env }, encoding: 'utf8', timeout: 300_000 },
      (error, out, err) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, out, err }),
    );
  });
}
