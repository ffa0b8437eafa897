/**
 * What a Slurm job runs on its node (`selfemd slurm-node RUN_DIR`, from the built CLI): the run's job
 * (RUN_DIR/job.json, written by the supervisor) in the built engine worker, every message it sends
 * appended to RUN_DIR/events.jsonl for the supervisor to take in. A requeued job (`scontrol requeue`,
 * a node failure, a preemption) starts here again: it continues from the last checkpoint its events
 * name, and a run that already finished is not trained again. SIGUSR2 (the job's --signal before its
 * time limit, or the supervisor's pause) and SIGTERM ask the worker to checkpoint and stop.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { FinetuneJob, PretrainJob, WorkerMessage } from '../protocol';
import { jobBackend } from '../protocol';
import { nodeWorkerSpawner, type WorkerSpawner } from '../worker-process';
import { EventsWriter, eventsPath, jobPath, readEvents } from './events-file';
import { CHECKPOINT_SIGNAL, attemptLabel } from './job-outcome';

type TrainingJob = PretrainJob | FinetuneJob;

function readJob(runDir: string): TrainingJob {
  const file = jobPath(runDir);
  let job: TrainingJob;
  try {
    job = JSON.parse(fs.readFileSync(file, 'utf8')) as TrainingJob;
  } catch (e) {
    throw new Error(`${file}: cannot read the run's job (${(e as Error).message})`);
  }
  const kind = (job as { kind?: unknown } | null)?.kind;
  if (kind !== 'pretrain' && kind !== 'finetune')
    throw new Error(`${file}: kind must be pretrain or finetune, got ${JSON.stringify(kind)}`);
  return { ...job, runDir };
}

/**
 * The job this attempt runs: the one submitted, or, when an earlier attempt of it checkpointed later
 * than where it was to start, a resume from that checkpoint on that attempt's wasm thread count.
 */
export function attemptJob(job: TrainingJob, past: readonly WorkerMessage[]): TrainingJob | 'finished' {
  // A paused run ended an earlier job and goes on in this one; a completed or cancelled one is over.
  if (past.some((m) => m.type === 'finished' && m.result.status !== 'paused')) return 'finished';
  let checkpoint: number | undefined;
  let threads: number | undefined;
  for (const m of past) {
    if (m.type === 'checkpoint') checkpoint = m.step;
    if (m.type === 'backend' && m.info.choice === 'wasm') threads = m.info.threads;
  }
  if (checkpoint === undefined || checkpoint <= (job.resume ? (job.resumeStep ?? -1) : -1)) return job;
  return {
    ...job,
    resume: true,
    resumeStep: checkpoint,
    ...((job.threads ?? threads) ? { threads: job.threads ?? threads } : {}),
  };
}

/** Runs the job; resolves with the exit code the Slurm job should end with. */
export async function runOnNode(runDir: string, spawner: WorkerSpawner = nodeWorkerSpawner): Promise<number> {
  const submitted = readJob(runDir);
  const file = eventsPath(runDir);
  const past = readEvents(file, 0).lines.map((l) => l.message);
  const job = attemptJob(submitted, past);
  const writer = new EventsWriter(file);
  // The first line of every attempt: the supervisor learns from it that this attempt started.
  const where = `${attemptLabel(process.env.SLURM_JOB_ID ?? '?', Number(process.env.SLURM_RESTART_COUNT ?? 0))} on ${os.hostname()}`;
  if (job === 'finished') {
    writer.write({ type: 'log', message: `${where}: the run had already finished; nothing to do` });
    writer.close();
    return 0;
  }
  writer.write({
    type: 'log',
    message: `${where}: ${job.resume ? `resuming from the checkpoint at step ${job.resumeStep}` : 'starting'}`,
  });
  const handle = spawner({ backend: jobBackend(job) });
  const checkpointAndStop = (signal: string) => {
    writer.write({ type: 'log', message: `${where}: ${signal}: checkpointing and stopping` });
    handle.send({ type: 'stop', mode: 'pause' });
  };
  process.on(`SIG${CHECKPOINT_SIGNAL}`, () => checkpointAndStop(`SIG${CHECKPOINT_SIGNAL}`));
  process.on('SIGTERM', () => checkpointAndStop('SIGTERM'));
  const exit = new Promise<number>((resolve) =>
    handle.onExit((code, signal) =>
      resolve(code ?? (signal ? 128 + (os.constants.signals[signal as NodeJS.Signals] ?? 0) : 1)),
    ),
  );
  handle.onMessage((m) => writer.write(m));
  handle.send({ type: 'start', job });
  const code = await exit;
  writer.close();
  return code;
}
