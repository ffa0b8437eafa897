/**
 * `selfemd probe RUN|FILE|random --train DATASET --val DATASET` (or `--data demo`): the detection
 * probe (engine/probe) of a backbone — a pretraining run's last recorded checkpoint, an exported
 * backbone file, or random weights — on labelled boxes: linear and kNN top-1 box classification on
 * the val set. The backbone, the data and the sizes are resolved exactly as `selfemd finetune`
 * resolves them (this machine's defaults, the init's recorded backbone), so a probe and a fine-tune
 * of the same arguments see the same backbone and images. Runs in this process: it takes seconds.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { finetuneSizeOverrides, type FinetuneConfig } from '../../../shared/config/finetune';
import { withRunDefaults } from '../../../shared/config/run-defaults';
import { initBackend } from '../../engine/backend/select';
import { initBackbone } from '../../engine/detection/backbone-init';
import { loadDetectionData } from '../../engine/detection/datasets';
import { DEFAULT_PROBE_OPTIONS, runProbe } from '../../engine/probe/probe';
import { detectHardware } from '../../jobs/service/hardware';
import { openStore } from '../../store';
import { numberFlag, parse, runOverrides } from '../args';
import { CliError } from '../cli-error';
import { studioHome } from '../home';
import { resolveCliFinetune, resolveInit, storeLookup } from './finetune';

const USAGE =
  'selfemd probe: usage: selfemd probe RUN|FILE|random (--train DATASET --val DATASET | --data demo) [--size PX] [--seed N] [--backend B] [--json]';

const OPTIONS = {
  train: { type: 'string' },
  val: { type: 'string' },
  data: { type: 'string' },
  'demo-train': { type: 'string' },
  'demo-val': { type: 'string' },
  'demo-size': { type: 'string' },
  size: { type: 'string' },
  backbone: { type: 'string' },
  width: { type: 'string' },
  seed: { type: 'string' },
  backend: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** The fine-tune resolver's messages speak of `selfemd finetune --init`: here the backbone is the positional. */
function asProbeError(e: unknown): unknown {
  if (!(e instanceof CliError)) return e;
  return new CliError(
    e.message.replace(/^selfemd finetune(:| --init)?/, 'selfemd probe$1').replace('--init ', ''),
    e.exitCode,
  );
}

/** The probe's config, as `selfemd finetune` would resolve the same backbone and data flags here. */
export function resolveProbeConfig(
  argv: string[],
  home: string,
): { config: FinetuneConfig; json: boolean; init: string } {
  const { values: v, positionals } = parse('probe', argv, OPTIONS, true);
  const n = (name: keyof typeof OPTIONS) => numberFlag('probe', name, v[name] as string | undefined);
  const [backbone, ...extra] = positionals;
  if (!backbone || extra.length) throw new CliError(USAGE);
  if (v.data !== undefined && v.data !== 'demo')
    throw new CliError(
      `selfemd probe: --data ${v.data}: only "demo" (the demo scenes' train / val splits); name other data with --train and --val`,
    );
  if (v.data && (v.train || v.val))
    throw new CliError('selfemd probe: give --data demo, or --train and --val, not both');
  const train = v.data ?? v.train;
  const val = v.data ?? v.val;
  if (!train || !val)
    throw new CliError(`selfemd probe: --train and --val (or --data demo) are required\n${USAGE}`);
  for (const [flag, d] of [
    ['train', train],
    ['val', val],
  ] as const)
    if (d !== 'demo' && !fs.existsSync(d))
      throw new CliError(`selfemd probe: --${flag} ${d}: no such file or folder`);
  const size = n('size');
  const flags = {
    seed: n('seed'),
    backend: v.backend,
    backbone: { name: v.backbone, baseWidth: n('width') },
    data: {
      train: train === 'demo' ? 'demo' : path.resolve(train),
      val: val === 'demo' ? 'demo' : path.resolve(val),
      demoTrain: n('demo-train'),
      demoVal: n('demo-val'),
      demoSize: n('demo-size'),
      ...(size === undefined ? {} : finetuneSizeOverrides(size)),
    },
  };
  const machine = detectHardware();
  try {
    const lookup = storeLookup(home);
    const requested = {
      ...runOverrides('probe', {
        full: false,
        configFile: undefined,
        flags,
        withDefaults: (r) => withRunDefaults('finetune', machine, r),
      }),
      init: resolveInit(backbone, home, lookup),
    };
    const store = openStore(path.join(home, 'studio.db'));
    try {
      const { config, init } = resolveCliFinetune(store, {
        overrides: requested,
        runDir: '',
        name: '',
        json: false,
      });
      return { config, json: Boolean(v.json), init: init.initDescription };
    } finally {
      store.close();
    }
  } catch (e) {
    throw asProbeError(e);
  }
}

export async function probeCommand(argv: string[]): Promise<void> {
  const { config, json, init } = resolveProbeConfig(argv, studioHome());
  const log = (message: string) => {
    if (!json) process.stderr.write(`${message}\n`);
  };
  const backend = await initBackend(config.backend);
  log(`backend ${backend.choice}; backbone from ${init}`);
  const data = await loadDetectionData(config, log);
  const { backbone } = await initBackbone(config);
  try {
    const options = { ...DEFAULT_PROBE_OPTIONS, size: config.data.minSizeTest, seed: config.seed };
    const r = await runProbe(backbone, data.train, data.val, options);
    if (json) {
      console.log(
        JSON.stringify(
          {
            backbone: { name: config.backbone.name, baseWidth: config.backbone.baseWidth, init: config.init },
            train: config.data.train,
            val: config.data.val,
            size: options.size,
            ...r,
            constants: {
              levels: ['res4', 'res5'],
              jitter: options.jitter,
              jitterMinIou: options.jitterMinIou,
              linear: options.linear,
              knn: options.knn,
            },
          },
          null,
          2,
        ),
      );
      return;
    }
    const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
    console.log(`linear top-1   ${pct(r.linearTop1)}`);
    console.log(`kNN top-1      ${pct(r.knnTop1)}   (k = ${options.knn.k}, cosine)`);
    console.log(
      `majority class ${pct(r.majorityTop1)}   (chance of one class of ${r.classes}: ${pct(1 / r.classes)})`,
    );
    console.log(
      `${r.trainBoxes} train boxes (+${r.trainSamples - r.trainBoxes} jittered), ${r.valBoxes} val boxes, ` +
        `${r.featureDim}-d res4+res5 features at ${options.size} px; ${r.seconds.toFixed(1)} s`,
    );
  } finally {
    backbone.dispose();
  }
}
