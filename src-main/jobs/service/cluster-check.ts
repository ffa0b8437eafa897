/**
 * What the studio and `selfemd` check about a cluster before a run goes there: that `on` names one
 * (`requireExecutor`), and the connection test (`testCluster`): slurmrestd answers a ping, a remote
 * one has a token to authenticate with, and the shared folder is a writable folder on this machine
 * (the supervisor writes each run's folder there and reads back what the job writes).
 */
import * as fs from 'node:fs';
import type { ClusterCheck, ClusterTestResult } from '../../../shared/api/types';
import { LOCAL_EXECUTOR, type ExecutorName, type SlurmClusterSettings } from '../../../shared/dto/clusters';
import type { ExperimentStore } from '../../store';
import { notFound } from './api-errors';

/** Asks slurmrestd whether it is up; resolves with what it said, rejects with why not. */
export type ClusterPing = (settings: SlurmClusterSettings, signal: AbortSignal) => Promise<string>;

/** Until the Slurm executor's REST client is in this build, the connection test says so. */
export const slurmrestdPing: ClusterPing = () =>
  Promise.reject(new Error('this build has no slurmrestd client (the Slurm executor is not merged yet)'));

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
  checks.push(await folderCheck(settings.sharedFolder));
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
