/** `selfemd`: the headless studio. One-line errors and a non-zero exit for bad arguments. */
import { ConfigError } from '../../shared/config/validation';
import { CliError } from './cli-error';

const HELP = `selfemd — Self-EMD Studio, headless

  selfemd info [--backend B] [--gpu NAME] [--json]
                                               backend in use (tfjs-node-gpu → webgpu → tfjs-node → wasm → cpu),
                                               threads, the GPU adapter (--gpu: part of its name; also SELFEMD_GPU)
  selfemd pretrain [--data DIR|demo] [--method byol|self-emd] [--backbone resnet18|resnet34|resnet50|resnet101]
                   [--width N] [--size PX] [--epochs N] [--batch N] [--accumulate N] [--lr X] [--seed N]
                   [--backend auto|tfjs-node-gpu|webgpu|tfjs-node|wasm|cpu] [--marginals eq13|eq12] [--lambda X]
                   [--no-spc] [--no-scale-view] [--checkpoint-every N] [--config FILE.json] [--full] [--name S]
                   [--probe-data demo|DATASET --probe-every N]  the detection probe every N steps (metrics)
                   Without --full, this machine's defaults for the backend (the studio's forms start from the
                   same; on wasm/CPU: resnet18 width 32, 96 px) fill what you leave out.
  selfemd runs [--json]                        list runs
  selfemd resume RUN                           continue a paused or interrupted run from its last checkpoint
  selfemd export RUN --format tfjs|safetensors --out PATH [--step N]
                                               the online backbone (torchvision names in safetensors)
  selfemd transport RUN --image A|demo:N [--image B] [--out PREFIX] [--seed N] [--grid 7|5|3]
                                               transport plan of two random crops: JSON + PNG (Fig. 5)
  selfemd finetune --detector retinanet|faster-rcnn --init RUN|FILE|random --train DATASET --val DATASET
                   [--size --epochs --batch --lr …] [--name NAME]   fine-tune a detector (DATASET: demo, or a
                   COCO / VOC / YOLO dataset); Ctrl-C pauses it, --resume --name NAME continues it
  selfemd probe RUN|FILE|random --train DATASET --val DATASET | --data demo [--size PX] [--json]
                                               detection probe: linear and kNN top-1 box classification from
                                               the frozen backbone's res4+res5 features at the boxes
  selfemd predict RUN --image FILE             boxes as JSON and drawn on a PNG
  selfemd eval --gt GT.json --dt DETECTIONS.json [--json]
                                               COCO bbox stats (the 12 of pycocotools) and VOC AP50
  selfemd help

Data and runs live in $SELFEMD_HOME (default ~/.selfemd).`;

type Command = (argv: string[]) => Promise<void>;

// Loaded on demand: `selfemd runs` should not pay for TF.js, nor a typo for anything at all.
const COMMANDS: Record<string, () => Promise<Command>> = {
  info: async () => (await import('./commands/info')).infoCommand,
  pretrain: async () => (await import('./commands/pretrain')).pretrainCommand,
  runs: async () => (await import('./commands/runs')).runsCommand,
  resume: async () => (await import('./commands/runs')).resumeCommand,
  export: async () => (await import('./commands/export')).exportCommand,
  transport: async () => (await import('./commands/transport')).transportCommand,
  finetune: async () => (await import('./commands/finetune')).finetuneCommand,
  predict: async () => (await import('./commands/predict')).predictCommand,
  probe: async () => (await import('./commands/probe')).probeCommand,
  eval: async () => (await import('./commands/eval')).evalCommand,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(HELP);
    return 0;
  }
  const load = COMMANDS[name];
  if (!load)
    throw new CliError(
      `selfemd: unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')}, help)`,
    );
  await (
    await load()
  )(rest);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof CliError) {
      console.error(e.message);
      process.exit(e.exitCode);
    }
    if (e instanceof ConfigError) {
      console.error(`invalid config: ${e.message}`);
      process.exit(2);
    }
    console.error(`selfemd: ${(e as Error)?.stack ?? String(e)}`);
    process.exit(1);
  },
);
