/**
 * The engine worker on SIGTERM (Slurm's requeue, preemption and scancel; a system shutting down) and
 * on the checkpoint signal SIGUSR2: it checkpoints at the step it reached and stops as paused (exit 0),
 * instead of dying mid-step and losing the steps since its last periodic checkpoint.
 */
import { describe, expect, it } from 'vitest';
import { resolvePretrainConfig } from '../../shared/config/pretrain';
import type { WorkerMessage } from '../../src-main/jobs/protocol';
import { nodeWorkerSpawner } from '../../src-main/jobs/worker-process';
import { TINY_PRETRAIN } from './tiny-run';
import { tempDir } from '../temp-dir';

async function stopWith(signal: NodeJS.Signals) {
  const runDir = tempDir('selfemd-worker-signal-');
  // Periodic checkpoints far apart: a checkpoint at the stopping step can only come from the signal.
  const config = resolvePretrainConfig({
    ...TINY_PRETRAIN,
    optim: { ...TINY_PRETRAIN.optim, epochs: 40 },
    checkpoint: { everySteps: 1000 },
  });
  const handle = nodeWorkerSpawner({ backend: 'wasm' });
  const messages: WorkerMessage[] = [];
  let signalled = false;
  handle.onMessage((m) => {
    messages.push(m);
    if (!signalled && m.type === 'progress' && m.progress.step >= 2) {
      signalled = true;
      handle.kill(signal);
    }
  });
  const exit = new Promise<[number | null, string | null]>((resolve) =>
    handle.onExit((c, s) => resolve([c, s])),
  );
  handle.send({
    type: 'start',
    job: { kind: 'pretrain', runId: `signal-${signal}`, config, runDir, resume: false },
  });
  const [code, killedBy] = await exit;
  return { code, killedBy, messages };
}

describe('the engine worker on a stop signal', () => {
  // SIGUSR2 takes the same path; the Slurm tests' pause (scancel --signal=USR2) covers it end to end.
  for (const signal of ['SIGTERM'] as const)
    it(`${signal}: checkpoints at the step it reached and ends paused, exit 0`, async () => {
      const { code, killedBy, messages } = await stopWith(signal);
      expect(killedBy).toBeNull();
      expect(code).toBe(0);
      const finished = messages.find((m) => m.type === 'finished');
      expect(finished?.type === 'finished' && finished.result.status).toBe('paused');
      const step = finished?.type === 'finished' ? finished.result.step : -1;
      expect(step).toBeGreaterThanOrEqual(2);
      expect(step).toBeLessThan(80);
      expect(messages.some((m) => m.type === 'checkpoint' && m.step === step)).toBe(true);
    });
});
