/** Rebuilds a run's online and target encoders from one of its pretraining checkpoints. */
import type { PretrainConfig } from '../../../shared/config/pretrain';
import { createEncoder, encoderVariables, type Encoder } from '../ssl/networks';
import { listCheckpoints, loadCheckpoint, restoreVariables } from './checkpoint';
import * as path from 'node:path';

export interface RestoredEncoders {
  online: Encoder;
  target: Encoder;
  step: number;
  dir: string;
}

/** The checkpoint folder of `step` under `<runDir>/checkpoints`, or the newest when step is omitted. */
export function findCheckpoint(runDir: string, step?: number): { step: number; dir: string } {
  const all = listCheckpoints(path.join(runDir, 'checkpoints'));
  if (all.length === 0) throw new Error(`${runDir}: the run has no checkpoint yet`);
  if (step === undefined) return all.at(-1)!;
  const found = all.find((c) => c.step === step);
  if (!found)
    throw new Error(`${runDir}: no checkpoint at step ${step} (kept: ${all.map((c) => c.step).join(', ')})`);
  return found;
}

export function restoreEncoders(config: PretrainConfig, runDir: string, step?: number): RestoredEncoders {
  const ckpt = findCheckpoint(runDir, step);
  const loaded = loadCheckpoint(ckpt.dir);
  const online = createEncoder(config, 'online', 0);
  const target = createEncoder(config, 'target', 0);
  restoreVariables(loaded, 'online.params/', encoderVariables(online, 'params'));
  restoreVariables(loaded, 'online.buffers/', encoderVariables(online, 'buffers'));
  restoreVariables(loaded, 'target.params/', encoderVariables(target, 'params'));
  restoreVariables(loaded, 'target.buffers/', encoderVariables(target, 'buffers'));
  return { online, target, step: ckpt.step, dir: ckpt.dir };
}
