/** `selfemd pretrain`: start a BYOL / Self-EMD run in a training process and follow it. */
import * as fs from 'node:fs';
import { ConfigError, mergeDefaults } from '../../../shared/config/validation';
import { cpuDemoOverrides, resolvePretrainConfig } from '../../../shared/config/pretrain';
import { numberFlag, parse } from '../args';
import { CliError } from '../cli-error';
import { openStudio } from '../home';
import { followRun } from '../follow-run';

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
  'demo-images': { type: 'string' },
  marginals: { type: 'string' },
  lambda: { type: 'string' },
  'no-spc': { type: 'boolean' },
  'no-scale-view': { type: 'boolean' },
  'checkpoint-every': { type: 'string' },
  config: { type: 'string' },
  name: { type: 'string' },
  full: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

const MARGINAL_FLAGS: Record<string, string> = { eq13: 'global-vector', eq12: 'mean-feature' };

/** Removes undefined leaves and the objects they leave empty, so absent flags override nothing. */
function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v && typeof v === 'object') {
      const inner = dropUndefined(v as Record<string, unknown>);
      if (Object.keys(inner).length) out[k] = inner;
    } else if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Flags → partial config. Unless --full, the CPU demo sizes are the base (a first run must finish). */
export function pretrainOverrides(argv: string[]): {
  overrides: Record<string, unknown>;
  name?: string;
  json: boolean;
} {
  const { values: v } = parse('pretrain', argv, OPTIONS);
  const n = (name: keyof typeof OPTIONS) => numberFlag('pretrain', name, v[name] as string | undefined);
  let fromFile: Record<string, unknown> = {};
  if (v.config) {
    try {
      fromFile = JSON.parse(fs.readFileSync(v.config, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new CliError(`selfemd pretrain: --config ${v.config}: ${(e as Error).message}`);
    }
  }
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
    checkpoint: { everySteps: n('checkpoint-every') },
  };
  // Precedence: CPU demo sizes (unless --full) < --config file < flags.
  const base = mergeDefaults(v.full ? {} : cpuDemoOverrides(), fromFile);
  const overrides = mergeDefaults(base, dropUndefined(flags)) as Record<string, unknown>;
  if (v.data && v.data !== 'demo' && !fs.existsSync(v.data))
    throw new CliError(`selfemd pretrain: --data ${v.data}: no such folder`);
  return { overrides, name: v.name, json: Boolean(v.json) };
}

export async function pretrainCommand(argv: string[]): Promise<void> {
  const { overrides, name, json } = pretrainOverrides(argv);
  try {
    resolvePretrainConfig(overrides);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(`selfemd pretrain: invalid config: ${e.message}`);
    throw e;
  }
  const studio = openStudio();
  try {
    const run = studio.manager.startPretrain(overrides, { name });
    await followRun(studio, run.id, { json });
  } finally {
    await studio.close();
  }
}
