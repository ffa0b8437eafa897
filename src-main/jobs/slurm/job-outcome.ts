/**
 * What a Slurm job's end means for its run, decided from what Slurm says of the job (state, exit
 * code, restart count) and what the run's events say (whether the worker reported its end, whether
 * the job's last attempt started at all). Kept apart from the handle that follows the job so that
 * every case Slurm was seen to produce can be checked without a cluster (test/jobs/slurm/job-outcome).
 *
 * Seen on Slurm 22.05 (scripts/slurm-local.sh): a job requeued (`scontrol requeue`, a preemption)
 * and started again within the second of its requeue is refused by slurmd ("Job N already killed,
 * do not launch batch job": the credential revoked at the requeue still covers a credential of the
 * same second) and ends FAILED, exit code 1, restart count 1, without its attempt having run. Slurm
 * itself holds a requeued job 121 s (BeginTime) against exactly that; anything that starts it sooner
 * (`scontrol update StartTime=now`, an admin's release) can meet it. A requeued attempt whose launch
 * fails for another reason (its output file cannot be opened: JobLaunchFailure) looks the same. The
 * run lost nothing: it resumes from its last checkpoint.
 */
import * as os from 'node:os';
import type { SlurmJobInfo } from './slurm-rest';

/** The signal a job asks for before its end and the supervisor sends to pause (not USR1: Node's inspector). */
export const CHECKPOINT_SIGNAL = 'USR2';

/** Job states in which the job will not run again. */
export const ENDED_STATES = new Set([
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TIMEOUT',
  'NODE_FAIL',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE',
  'OUT_OF_MEMORY',
  'SPECIAL_EXIT',
  'REVOKED',
]);

/** Ended states that are the scheduler's doing, not the run's: resubmitting from the checkpoint goes on. */
const SCHEDULER_ENDS = new Set(['TIMEOUT', 'NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL']);

/**
 * The exit code of a node command the checkpoint signal ended before it could checkpoint (Node's
 * handler not yet in place, early in start-up): 128 + SIGUSR2, as the node runner or the shell says it.
 */
export const KILLED_BY_CHECKPOINT_SIGNAL = 128 + os.constants.signals[`SIG${CHECKPOINT_SIGNAL}`];

/** What the run's events and its supervisor know when the job ends. */
export interface RunFacts {
  /** The worker said how the run ended (finished, failed). */
  ended: boolean;
  /** What the studio asked of the job: a pause (the checkpoint signal) or a cancel (scancel). */
  requested: 'pause' | 'cancel' | null;
  /** The worker checkpointed on Slurm's signal without being asked (its time limit, a preemption). */
  selfPaused: boolean;
  /** The job's last attempt (restart `job.restartCount`) started on its node (it wrote its first line). */
  lastAttemptStarted: boolean;
}

export type JobOutcome =
  /** The worker's own end was delivered: nothing to add. */
  | { kind: 'reported' }
  /** Stopped as asked before the worker could say so (a cancel; a pause of a job still queued). */
  | { kind: 'stopped'; status: 'paused' | 'cancelled' }
  /**
   * Not the run's doing: interrupted, resumable from its last checkpoint; `resubmit` when nobody
   * asked it to stop, so the supervisor may send it out again on its own (within the cluster's bound).
   */
  | { kind: 'interrupted'; why: string; resubmit: boolean }
  /** The run's own failure: its exit code. */
  | { kind: 'failed'; code: number };

/** How an attempt of a job names itself in the run's events: `Slurm job 12 (restart 1)`. */
export const attemptLabel = (jobId: string, restart: number): string =>
  `Slurm job ${jobId} (restart ${restart})`;

/** The attempt a log line of the node runner comes from, or null for any other line. */
export function attemptOf(message: string): { jobId: string; restart: number } | null {
  const m = /^Slurm job (\S+) \(restart (\d+)\) on /.exec(message);
  return m ? { jobId: m[1]!, restart: Number(m[2]) } : null;
}

export function describeJob(job: SlurmJobInfo): string {
  const why = job.reason && job.reason !== 'None' ? ` (${job.reason})` : '';
  return `Slurm job ${job.jobId} ${job.state}${why}`;
}

export function jobOutcome(job: SlurmJobInfo, facts: RunFacts): JobOutcome {
  if (facts.ended) return { kind: 'reported' };
  const what = describeJob(job);
  if (job.state === 'CANCELLED' && facts.requested)
    return { kind: 'stopped', status: facts.requested === 'cancel' ? 'cancelled' : 'paused' };
  const unasked = facts.requested === null;
  // A requeued attempt that never ran: the run is where its earlier attempt left it (which may have
  // checkpointed on the requeue's SIGTERM: this is the later, more specific fact).
  if (job.restartCount > 0 && !facts.lastAttemptStarted && job.state !== 'COMPLETED')
    return {
      kind: 'interrupted',
      why: `${what}, exit code ${job.exitCode ?? '?'}: its attempt after requeue ${job.restartCount} did not start on the node`,
      resubmit: unasked,
    };
  if (job.exitCode === KILLED_BY_CHECKPOINT_SIGNAL && facts.requested !== 'cancel')
    return {
      kind: 'interrupted',
      why: `${what}: Slurm's checkpoint signal (its time limit or a preemption) came before the run could checkpoint`,
      resubmit: unasked,
    };
  if (facts.selfPaused)
    return {
      kind: 'interrupted',
      why: `${what} after checkpointing on Slurm's signal (its time limit or a preemption)`,
      resubmit: unasked,
    };
  if (SCHEDULER_ENDS.has(job.state)) return { kind: 'interrupted', why: what, resubmit: unasked };
  // Cancelled by someone outside the studio (scancel), past its deadline, or forgotten by Slurm: not
  // sent out again behind their back, but resumable.
  if (job.state === 'CANCELLED' || job.state === 'DEADLINE' || job.state === 'UNKNOWN')
    return { kind: 'interrupted', why: what, resubmit: false };
  return { kind: 'failed', code: job.exitCode ?? 1 };
}
