/**
 * The one-node Slurm of scripts/slurm-local.sh for tests: started (or found running) once per file.
 * Where it cannot start (not root, the Debian packages missing) the tests skip with one line, and fail
 * under CI=true, where .ci/run installs the packages and starts it.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import type { SlurmClusterSettings } from '../../../shared/dto/clusters';
import { skipUnlessTool } from '../../optional-tool';

export const slurmScript = path.resolve(__dirname, '../../../scripts/slurm-local.sh');

/** Starts the local cluster; resolves with its slurmrestd socket, or null after printing the skip line. */
export function localSlurm(tests: string): Promise<string | null> {
  return new Promise((resolve, reject) => {
    // The cluster outlives the test file (later files and runs find it running), so its daemons do
    // not get the file's own TMPDIR (test/file-tmpdir.ts would count them as processes left behind).
    const { TMPDIR: _fileTmp, ...env } = process.env;
    const options = { encoding: 'utf8' as const, timeout: 120_000, env };
    execFile('bash', [slurmScript, 'start'], options, (error, out, err) => {
      if (!error) return resolve(out.trim().split('\n').pop()!);
      try {
        skipUnlessTool({
          tool: 'a local Slurm (scripts/slurm-local.sh, as root)',
          tests,
          missing: (err || error.message).trim().split('\n').pop()!,
          install: 'apt-get install -y slurm-wlm slurmrestd munge, then run the tests as root',
        });
        resolve(null);
      } catch (e) {
        reject(e as Error);
      }
    });
  });
}

/**
 * The local cluster's settings as the tests use them: its socket with local auth (jobs run as
 * `nobody`, so `shared` must be writable by them), 1 CPU; `over` changes what a test needs.
 */
export function localClusterSettings(
  socket: string | null,
  shared: string,
  over: Partial<SlurmClusterSettings> = {},
): SlurmClusterSettings {
  return {
    name: 'local-slurm',
    kind: 'slurm',
    endpoint: `unix:${socket}`,
    apiVersion: 'v0.0.38',
    user: 'nobody',
    timeLimitMinutes: 10,
    cpusPerTask: 1,
    memoryMb: 256,
    sharedFolder: shared,
    nodeCommand: 'node selfemd.mjs',
    ...over,
  };
}
