/** `selfemd pretrain`: start a BYOL / Self-EMD / MoCo v2 / SimCLR run in a training process and follow it. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolvePretrainConfig } from '../../../shared/config/pretrain';
import { withRunDefaults, type MachineDescription } from '../../../shared/config/run-defaults';
import { detectHardware } from '../../jobs/service/hardware';
import { gpuEnv, numberFlag, parse, resolveOrExit, runOverrides } from '../args';
import { CliError } from '../cli-error';
import { openStudio } from '../home';
import { followRun } from '../follow-run';
import { executorFor, onFlag } from '../executor-flag';
import type { ExecutorName } from '../../../shared/dto/clusters';

const OPTIONS = {
  data: { type: 'string' },
  method: { type: 'string' },
  backbone: { type: 'string' },
  width: { type: 'string' },
  size: { type: 'string' },
  epochs: { type: 'string' },
  batch: { type: 'string' },
  accumulate: { type: 'string' },
  lr: { type: 'string' },
  seed: { type: 'string' },
  backend: { type: 'string' },
  gpu: { type: 'string' },
  'gpu-power': { type: 'string' },
  'demo-images': { type: 'string' },
  marginals: { type: 'string' },
  lambda: { type: 'string' },
  temperature: { type: 'string' },
  'queue-size': { type: 'string' },
  'no-spc': { type: 'boolean' },
  'no-scale-view': { type: 'boolean' },
  'checkpoint-every': { type: 'string' },
  'probe-data': { type: 'string' },
  'probe-every': { type: 'string' },
  config: { type: 'string' },
  name: { type: 'string' },
  full: { type: 'boolean' },
  json: { type: 'boolean' },
  on: { type: 'string' },
} as const;

const MARGINAL_FLAGS: Record<string, string> = { eq13: 'global-vector', eq12: 'mean-feature' };

/**
 * Flags → partial config. Unless --full, this machine's defaults for the backend asked for are the
 * base (the studio's new-run form starts from the same: shared/config/run-defaults.ts).
 */
export function pretrainOverrides(
  argv: string[],
  machine: MachineDescription = detectHardware(),
): {
  overrides: Record<string, unknown>;
  name?: string;
  json: boolean;
  /** --gpu / --gpu-power as the run's process environment (args.ts gpuEnv). */
  env: Record<string, string>;
  /** --on: where the run executes (this machine when left out). */
  on?: ExecutorName;
} {
  const { values: v } = parse('pretrain', argv, OPTIONS);
  const n = (name: keyof typeof OPTIONS) => numberFlag('pretrain', name, v[name] as string | undefined);
  const probeData = v['probe-data'];
  if (probeData !== undefined && probeData !== 'demo' && !fs.existsSync(probeData))
    throw new CliError(`selfemd pretrain: --probe-data ${probeData}: no such file or folder`);
  // The temperature is the chosen method's own field (MoCo's InfoNCE or SimCLR's NT-Xent).
  const temperature = n('temperature');
  const tempOf = v.method === 'moco-v2' ? 'moco' : v.method === 'simclr' ? 'simclr' : undefined;
  if (temperature !== undefined && !tempOf)
    throw new CliError('selfemd pretrain: --temperature needs --method moco-v2 or --method simclr');
  const m = v.marginals === undefined ? undefined : (MARGINAL_FLAGS[v.marginals] ?? v.marginals);
  const flags = {
    method: v.method,
    seed: n('seed'),
    backend: v.backend,
    backbone: { name: v.backbone, baseWidth: n('width') },
    data: { source: v.data, imageSize: n('size'), demoImages: n('demo-images') },
    optim: { epochs: n('epochs'), batchSize: n('batch'), accumulate: n('accumulate'), lr: n('lr') },
    emd: {
      marginals: m,
      lambda: n('lambda'),
      spc: v['no-spc'] ? false : undefined,
      scaleView: v['no-scale-view'] ? false : undefined,
    },
    moco: { queueSize: n('queue-size'), ...(tempOf === 'moco' ? { temperature } : {}) },
    simclr: tempOf === 'simclr' ? { temperature } : {},
    checkpoint: { everySteps: n('checkpoint-every') },
    probe: {
      data: probeData === undefined || probeData === 'demo' ? probeData : path.resolve(probeData),
      every: n('probe-every'),
    },
  };
  const overrides = runOverrides('pretrain', {
    full: v.full,
    configFile: v.config,
    flags,
    withDefaults: (requested) => withRunDefaults('pretrain', machine, requested),
  });
  if (v.data && v.data !== 'demo' && !fs.existsSync(v.data))
    throw new CliError(`selfemd pretrain: --data ${v.data}: no such folder`);
  const on = onFlag('pretrain', v.on);
  return {
    overrides,
    name: v.name,
    json: Boolean(v.json),
    env: gpuEnv('pretrain', v),
    ...(on ? { on } : {}),
  };
}

export async function pretrainCommand(argv: string[]): Promise<void> {
  const { overrides, name, json, env, on } = pretrainOverrides(argv);
  resolveOrExit('pretrain', () => resolvePretrainConfig(overrides));
  const studio = openStudio(env);
  try {
    const executor = executorFor('pretrain', studio.store, on);
    const run = studio.manager.startPretrain(overrides, { name, on: executor });
    await followRun(studio, run.id, { json });
  } finally {
    await studio.close();
  }
}
