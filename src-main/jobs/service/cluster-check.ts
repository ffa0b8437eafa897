/**
 * What the studio and `selfemd` check about a cluster before a run goes there: that `on` names one
 * (`requireExecutor`), and the connection test (`testCluster`): slurmrestd answers a ping, a remote
 * one has a token to authenticate with, and the shared folder is a writable folder on this machine
 * (the supervisor writes each run's folder there and reads back what the job writes).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import type { ClusterCheck, ClusterTestResult } from '../../../shared/api/types';
import { LOCAL_EXECUTOR, type ExecutorName, type SlurmClusterSettings } from '../../../shared/dto/clusters';
import type { ExperimentStore } from '../../store';
import { SlurmRestClient } from '../slurm/slurm-rest';
import { notFound } from './api-errors';

/** Asks slurmrestd whether it is up; resolves with what it said, rejects with why not. */
export type ClusterPing = (settings: SlurmClusterSettings, signal: AbortSignal) => Promise<string>;

/**
 * The ping through the executor's own REST client: slurmrestd must answer, and every slurmctld it
 * reports must be UP (slurmrestd alone answers even when the controller is down).
 */
export const slurmrestdPing: ClusterPing = async (settings) => {
  const answer = await new SlurmRestClient(settings, PING_TIMEOUT_MS).ping();
  const controllers = answer.controllers.map((c) => `${c.hostname} ${c.ping}`).join(', ');
  if (answer.controllers.length === 0) throw new Error(`Slurm ${answer.release} reported no slurmctld`);
  if (answer.controllers.some((c) => c.ping !== 'UP'))
    throw new Error(`Slurm ${answer.release} answered, but slurmctld is not up (${controllers})`);
  return `Slurm ${answer.release}, slurmctld ${controllers}`;
};

/** A ping that outlasts this is reported as no answer (the settings screen waits for the test). */
export const PING_TIMEOUT_MS = 8000;

/**
 * The executor a request names, checked: absent or 'local' is this machine; any other name must be
 * a configured cluster (not-found, listing the ones there are).
 */
export function requireExecutor(store: ExperimentStore, on: string | undefined): ExecutorName {
  if (on === undefined || on === LOCAL_EXECUTOR) return LOCAL_EXECUTOR;
  if (!store.hasCluster(on)) {
    const names = store.listClusters().map((c) => c.name);
    throw notFound(
      `no cluster named "${on}"`,
      names.length
        ? `Configured clusters: ${names.join(', ')} (or ${LOCAL_EXECUTOR} for this machine).`
        : 'Add one first (the studio\u2019s Clusters screen, or selfemd clusters add).',
    );
  }
  return on;
}

/** A message with the token cut out: whatever a client library put in an error, the token never leaves. */
export function withoutToken(message: string, token: string | undefined): string {
  return token ? message.split(token).join('[token]') : message;
}

export async function testCluster(
  settings: SlurmClusterSettings,
  ping: ClusterPing,
  timeoutMs = PING_TIMEOUT_MS,
): Promise<ClusterTestResult> {
  const t0 = Date.now();
  const checks: ClusterCheck[] = [await pingCheck(settings, ping, timeoutMs)];
  if (/^https?:/.test(settings.endpoint) && !settings.token)
    checks.push({
      what: 'token',
      ok: false,
      message: `no token is stored: slurmrestd over ${settings.endpoint.split(':')[0]} needs a JWT (X-SLURM-USER-TOKEN; scontrol token on the cluster)`,
    });
  const folder = await folderCheck(settings.sharedFolder);
  checks.push(folder);
  if (folder.ok && settings.endpoint.startsWith('unix:'))
    checks.push(await jobUserCheck(settings.sharedFolder, settings.user));
  return { cluster: settings.name, ok: checks.every((c) => c.ok), checks, ms: Date.now() - t0 };
}

async function pingCheck(
  settings: SlurmClusterSettings,
  ping: ClusterPing,
  timeoutMs: number,
): Promise<ClusterCheck> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // The timeout settles the race first: the ping's own rejection on abort comes after it.
      reject(new Error(`no answer within ${timeoutMs / 1000} s`));
      controller.abort();
    }, timeoutMs);
  });
  try {
    const said = await Promise.race([ping(settings, controller.signal), timeout]);
    return {
      what: 'slurmrestd',
      ok: true,
      message: withoutToken(
        `slurmrestd answered at ${settings.endpoint} (${settings.apiVersion}): ${said}`,
        settings.token,
      ),
    };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return {
      what: 'slurmrestd',
      ok: false,
      message: withoutToken(
        `slurmrestd did not answer at ${settings.endpoint} (${settings.apiVersion}): ${why}`,
        settings.token,
      ),
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Checked without writing anything (access(2), not a probe file): the folder may be anyone's, and
 * a test that leaves files behind is not a test. Slurm jobs run as the cluster's user, so whether
 * the nodes can write there is the job's first report, not something this machine can see.
 */
async function folderCheck(folder: string): Promise<ClusterCheck> {
  const what = 'shared folder';
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(folder);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      what,
      ok: false,
      message:
        code === 'ENOENT'
          ? `${folder} does not exist on this machine (mount the folder the nodes see, or create it)`
          : `${folder} cannot be read here (${code ?? String(e)})`,
    };
  }
  if (!stat.isDirectory()) return { what, ok: false, message: `${folder} is not a folder` };
  try {
    await fs.promises.access(folder, fs.constants.W_OK | fs.constants.X_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      what,
      ok: false,
      message: `${folder} is not writable by this user (${code === 'EROFS' ? 'a read-only file system' : (code ?? String(e))})`,
    };
  }
  return { what, ok: true, message: `${folder} is a writable folder here` };
}

/**
 * With slurmrestd on this machine (a unix socket, local auth), jobs run as the user it switched to
 * (the settings' `user`), who must be able to reach and write the run folders: checked by the
 * folder's and its parents' mode bits against that user's ids (access(2) answers for this process,
 * usually root, who may write anywhere).
 */
async function jobUserCheck(folder: string, user: string): Promise<ClusterCheck> {
  const what = 'job user';
  let uid: number;
  let gids: number[];
  try {
    uid = Number((await run('id', ['-u', user])).trim());
    gids = (await run('id', ['-G', user])).trim().split(/\s+/).map(Number);
  } catch {
    return {
      what,
      ok: false,
      message: `${user} is not a user on this machine; with slurmrestd's local auth, jobs run as the user it switched to (its -u)`,
    };
  }
  if (uid === 0) return { what, ok: true, message: `jobs run as ${user} (uid 0)` };
  const may = (st: fs.Stats, bits: number): boolean => {
    const shift = st.uid === uid ? 6 : gids.includes(st.gid) ? 3 : 0;
    return ((st.mode >> shift) & bits) === bits;
  };
  const parts = folder.split('/').filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const dir = `/${parts.slice(0, i).join('/')}`;
    if (!may(await fs.promises.stat(dir), 1))
      return { what, ok: false, message: `${user} (uid ${uid}), whom jobs run as, cannot enter ${dir}` };
  }
  if (!may(await fs.promises.stat(folder), 3))
    return {
      what,
      ok: false,
      message: `${folder} is not writable by ${user} (uid ${uid}), whom jobs run as (chown or chmod it)`,
    };
  return { what, ok: true, message: `${user} (uid ${uid}), whom jobs run as, can write to ${folder}` };
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(command, args, { encoding: 'utf8', timeout: 5000 }, (error, out) =>
      error ? reject(error) : resolve(out),
    ),
  );
}
