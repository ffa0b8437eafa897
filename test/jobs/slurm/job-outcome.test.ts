/**
 * What a Slurm job's end means for its run, for the sequences Slurm 22.05 was seen to produce on the
 * local cluster (scripts/slurm-local.sh; the slurmctld/slurmd log lines are quoted per case).
 */
import { describe, expect, it } from 'vitest';
import {
  KILLED_BY_CHECKPOINT_SIGNAL,
  attemptLabel,
  attemptOf,
  jobOutcome,
  type RunFacts,
} from '../../../src-main/jobs/slurm/job-outcome';
import type { SlurmJobInfo } from '../../../src-main/jobs/slurm/slurm-rest';

const job = (over: Partial<SlurmJobInfo>): SlurmJobInfo => ({
  jobId: '101',
  state: 'COMPLETED',
  reason: 'None',
  exitCode: 0,
  restartCount: 0,
  startTime: 1,
  endTime: 2,
  ...over,
});
const facts = (over: Partial<RunFacts> = {}): RunFacts => ({
  ended: false,
  requested: null,
  selfPaused: false,
  lastAttemptStarted: true,
  ...over,
});

describe('a Slurm job’s end, for its run', () => {
  it('a requeued attempt slurmd refused to launch is interrupted and resubmitted, not a failure (the CI failure)', () => {
    // slurmctld: "Requeuing JobId=101" … "Killing non-startable batch JobId=101: Job credential revoked",
    // "_job_complete: JobId=101 WEXITSTATUS 1"; slurmd: "Job 101 already killed, do not launch batch job".
    // slurmrestd then answers FAILED, NonZeroExitCode, exit code 1, restart count 1.
    const failed = job({ state: 'FAILED', reason: 'NonZeroExitCode', exitCode: 1, restartCount: 1 });
    const outcome = jobOutcome(failed, facts({ lastAttemptStarted: false }));
    expect(outcome).toMatchObject({ kind: 'interrupted', resubmit: true });
    expect(outcome.kind === 'interrupted' && outcome.why).toMatch(
      /^Slurm job 101 FAILED \(NonZeroExitCode\), exit code 1: its attempt after requeue 1 did not start/,
    );
    // The same end after the attempt had started is the run's own failure.
    expect(jobOutcome(failed, facts({ lastAttemptStarted: true }))).toEqual({ kind: 'failed', code: 1 });
    // …and so is a first attempt that never started (a wrong node command fails the same way each time).
    expect(jobOutcome(job({ state: 'FAILED', exitCode: 127 }), facts({ lastAttemptStarted: false }))).toEqual(
      {
        kind: 'failed',
        code: 127,
      },
    );
  });

  it('a requeued attempt whose launch failed (JobLaunchFailure) is resubmitted', () => {
    // slurmd: "_fork_all_tasks: IO setup failed" → FAILED, JobLaunchFailure, exit code 0:53 (128 + 53).
    const failed = job({ state: 'FAILED', reason: 'JobLaunchFailure', exitCode: 181, restartCount: 2 });
    expect(jobOutcome(failed, facts({ lastAttemptStarted: false }))).toMatchObject({
      kind: 'interrupted',
      resubmit: true,
    });
    // The attempt before it checkpointed on the requeue's SIGTERM: the attempt that did not start is
    // still what the log says, the later and more specific fact.
    expect(jobOutcome(failed, facts({ lastAttemptStarted: false, selfPaused: true }))).toMatchObject({
      kind: 'interrupted',
      why: expect.stringMatching(/its attempt after requeue 2 did not start on the node$/) as unknown,
      resubmit: true,
    });
  });

  it('time limits, preemptions and node failures are resubmitted unless the studio asked the job to stop', () => {
    for (const state of ['TIMEOUT', 'PREEMPTED', 'NODE_FAIL', 'BOOT_FAIL'])
      expect(jobOutcome(job({ state, exitCode: 0 }), facts())).toEqual({
        kind: 'interrupted',
        why: `Slurm job 101 ${state}`,
        resubmit: true,
      });
    expect(jobOutcome(job({ state: 'TIMEOUT' }), facts({ requested: 'pause' }))).toMatchObject({
      kind: 'interrupted',
      resubmit: false,
    });
    // Checkpointed on Slurm's signal and ended COMPLETED: the time limit or the preemption came.
    expect(jobOutcome(job({}), facts({ selfPaused: true }))).toMatchObject({
      kind: 'interrupted',
      resubmit: true,
    });
    expect(
      jobOutcome(job({ exitCode: KILLED_BY_CHECKPOINT_SIGNAL, state: 'FAILED' }), facts()),
    ).toMatchObject({
      kind: 'interrupted',
      resubmit: true,
    });
  });

  it('a cancel from outside the studio, a deadline or a forgotten job are interrupted but not resubmitted', () => {
    for (const state of ['CANCELLED', 'DEADLINE', 'UNKNOWN'])
      expect(jobOutcome(job({ state }), facts())).toMatchObject({ kind: 'interrupted', resubmit: false });
  });

  it('stops the studio asked for, and ends the worker reported, are what they are', () => {
    expect(jobOutcome(job({ state: 'CANCELLED' }), facts({ requested: 'cancel' }))).toEqual({
      kind: 'stopped',
      status: 'cancelled',
    });
    expect(jobOutcome(job({ state: 'CANCELLED' }), facts({ requested: 'pause' }))).toEqual({
      kind: 'stopped',
      status: 'paused',
    });
    expect(jobOutcome(job({ state: 'FAILED', exitCode: 1 }), facts({ ended: true }))).toEqual({
      kind: 'reported',
    });
    expect(jobOutcome(job({ state: 'COMPLETED', exitCode: 0 }), facts())).toEqual({
      kind: 'failed',
      code: 0,
    });
  });

  it('an attempt’s first line names its job and restart', () => {
    expect(attemptOf(`${attemptLabel('12', 1)} on vm: resuming from the checkpoint at step 3`)).toEqual({
      jobId: '12',
      restart: 1,
    });
    expect(attemptOf('Slurm job 12: RUNNING')).toBeNull();
  });
});
