/**
 * The connection test (jobs/service/cluster-check.ts) against the local Slurm of
 * scripts/slurm-local.sh, through the executor's REST client: slurmrestd and slurmctld answer, the
 * shared folder is checked, and a wrong socket or a missing folder fails in words.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SlurmClusterSettings } from '../../../shared/dto/clusters';
import { slurmrestdPing, testCluster } from '../../../src-main/jobs/service/cluster-check';
import { localClusterSettings, localSlurm } from './local-slurm';
import { tempDir } from '../../temp-dir';

let socket: string | null = null;
let shared: string;

beforeAll(async () => {
  shared = tempDir('selfemd-cluster-check-');
  // jobs run as nobody (slurmrestd's local auth): the folder must be theirs to write
  fs.chmodSync(shared, 0o777);
  socket = await localSlurm('cluster-connection.test.ts (the connection test against a local Slurm)');
}, 150_000);

const settings = (over: Partial<SlurmClusterSettings>): SlurmClusterSettings =>
  localClusterSettings(socket, shared, over);

describe('the connection test against a local Slurm', () => {
  it('passes when slurmrestd and slurmctld answer and the shared folder is writable', async (ctx) => {
    if (!socket) return ctx.skip();
    const r = await testCluster(settings({}), slurmrestdPing);
    expect(r.checks.map((c) => [c.what, c.ok])).toEqual([
      ['slurmrestd', true],
      ['shared folder', true],
      ['job user', true],
    ]);
    expect(r.checks[2]!.message).toMatch(/^nobody \(uid \d+\), whom jobs run as, can write to /);
    expect(r.checks[0]!.message).toMatch(
      new RegExp(
        `^slurmrestd answered at unix:${socket} \\(v0\\.0\\.38\\): Slurm 22\\.05\\.\\d+, slurmctld \\S+ UP$`,
      ),
    );
    expect(r.ok).toBe(true);
  });

  it('says when the user jobs run as cannot write the shared folder', async (ctx) => {
    if (!socket) return ctx.skip();
    const closed = path.join(shared, 'closed');
    fs.mkdirSync(closed, { mode: 0o755 });
    const inner = path.join(shared, 'private', 'runs');
    fs.mkdirSync(inner, { recursive: true, mode: 0o777 });
    fs.chmodSync(path.dirname(inner), 0o700);
    const [notWritable, notReachable] = await Promise.all([
      testCluster(settings({ sharedFolder: closed }), slurmrestdPing),
      testCluster(settings({ sharedFolder: inner }), slurmrestdPing),
    ]);
    expect(notWritable.ok).toBe(false);
    expect(notWritable.checks[2]!.message).toMatch(
      new RegExp(
        `^${closed} is not writable by nobody \\(uid \\d+\\), whom jobs run as \\(chown or chmod it\\)$`,
      ),
    );
    expect(notReachable.checks[2]!.message).toMatch(
      /^nobody \(uid \d+\), whom jobs run as, cannot enter .*\/private$/,
    );
  });

  it('fails in words: a socket that is not there, a folder that does not exist', async (ctx) => {
    if (!socket) return ctx.skip();
    const gone = path.join(shared, 'none.socket');
    const missing = path.join(shared, 'not-mounted');
    const r = await testCluster(
      settings({ endpoint: `unix:${gone}`, sharedFolder: missing }),
      slurmrestdPing,
    );
    expect(r.ok).toBe(false);
    expect(r.checks[0]!.message).toBe(
      `slurmrestd did not answer at unix:${gone} (v0.0.38): slurmrestd GET /slurm/v0.0.38/ping (unix:${gone}): no socket there`,
    );
    expect(r.checks[1]!.message).toBe(
      `${missing} does not exist on this machine (mount the folder the nodes see, or create it)`,
    );
  });
});
