/**
 * `selfemd`: the headless studio. Every command answers `--help` with its own usage; errors in what
 * the user gave (arguments, configs, files, datasets) are one line and exit 2, never a stack trace.
 * Only an error that looks like a bug in the studio (a TypeError and the like) prints its stack,
 * and SELFEMD_DEBUG=1 prints the stack of any error.
 */
import { PRETRAIN_METHODS } from '../../shared/config/pretrain';
import { ConfigError } from '../../shared/config/validation';
import { CliError } from './cli-error';

/** Each command's usage: `selfemd help` lists them all, `selfemd CMD --help` prints its own. */
const USAGE: Record<string, string> = {
  info: `selfemd info [--backend B] [--gpu NAME] [--gpu-power low|high] [--json]
    which backend runs (tfjs-node-gpu → webgpu → tfjs-node → wasm → cpu), its version, threads and
    the GPU adapter (--gpu: part of its name; also SELFEMD_GPU)`,
  pretrain: `selfemd pretrain [--data DIR|demo] [--method ${PRETRAIN_METHODS.join('|')}] [--backbone resnet18|resnet34|resnet50|resnet101]
                 [--width N] [--size PX] [--epochs N] [--batch N] [--accumulate N] [--lr X] [--seed N]
                 [--backend auto|tfjs-node-gpu|webgpu|tfjs-node|wasm|cpu] [--marginals eq13|eq12] [--lambda X]
                 [--temperature X (moco-v2, simclr)] [--queue-size N (moco-v2)]
                 [--demo-images N] [--no-spc] [--no-scale-view] [--checkpoint-every N] [--config FILE.json]
                 [--full] [--name S] [--json] [--probe-data demo|DATASET --probe-every N]
                 [--gpu NAME] [--gpu-power low|high] [--on CLUSTER]
    self-supervised pretraining (--probe-*: the detection probe every N steps, as metrics; --gpu:
    part of the webgpu adapter's name, --gpu-power: which adapter Dawn prefers); without
    --full, this machine's defaults for the backend (the studio's forms start from the same; on
    wasm/CPU: resnet18 width 16, 96 px, 3 epochs) fill what you leave out`,
  runs: `selfemd runs [--json] | selfemd runs show RUN [--json]
    list runs: id, name, kind, method, status, progress; show: one run, with the backend it trained
    on, the GPU asked for (--gpu, --gpu-power) and the adapter it got`,
  resume: `selfemd resume RUN [--json]
    continue a paused or interrupted run from its last checkpoint (RUN: id, unique id prefix or name)`,
  export: `selfemd export RUN --format tfjs|safetensors --out PATH [--step N] [--json]
    the online backbone (torchvision names in safetensors); RUN: id, unique id prefix or name`,
  transport: `selfemd transport RUN --image A|demo:N [--image B] [--out PREFIX] [--seed N] [--step N] [--grid 7|5|3]
    transport plan of two random crops: JSON + PNG (Fig. 5); RUN: id, unique id prefix or name`,
  finetune: `selfemd finetune --detector retinanet|faster-rcnn|mask-rcnn --init RUN|FILE|random --train DATASET --val DATASET
                 [--size PX] [--epochs N] [--batch N] [--lr X] [--backbone B] [--width N] [--norm N]
                 [--freeze-at N] [--fpn-channels N] [--box-loss L] [--seed N] [--backend B]
                 [--demo-train N] [--demo-val N] [--demo-size PX] [--eval-every N] [--checkpoint-every N]
                 [--config FILE.json] [--full] [--name S] [--out DIR] [--resume] [--json]
                 [--gpu NAME] [--gpu-power low|high] [--on CLUSTER]
                 [--find-lr [--find-lr-min X] [--find-lr-max X] [--find-lr-steps N] [--find-lr-out FILE]]
    fine-tune a detector; DATASET: demo, a COCO JSON or dataset folder, a VOC or YOLO folder;
    --init RUN: a pretraining run's id, unique id prefix or name; FILE: a .safetensors, a TF.js
    model.json, or a PyTorch .pth / .pt state dict (torchvision's ImageNet weights; architecture
    and width read from its keys); Ctrl-C pauses it,
    --resume --name NAME continues it; --find-lr: a learning-rate range test on the same
    setup instead (prints the loss per lr and a suggested --lr; records no run)`,
  probe: `selfemd probe RUN|FILE|random --train DATASET --val DATASET | --data demo [--size PX] [--backbone B]
                 [--width N] [--seed N] [--backend B] [--demo-train N] [--demo-val N] [--demo-size PX] [--json]
    detection probe: linear and kNN top-1 box classification from the frozen backbone's res4+res5
    features at the boxes`,
  study: `selfemd study --arms A,B[,…] (--data demo | --unlabeled DIR --train DATASET --val DATASET)
                 [--seeds N] [--budget smoke|small|paper] [--pretrain-steps N] [--finetune-steps N]
                 [--backend B] [--detector D] [--replicates N] [--name S] [--on CLUSTER] [--json] | selfemd study --resume ID
    compare backbones: the SSL arms' pretrainings, every arm × seed fine-tune and probe, then a table
    of mean ± sd per arm and paired differences to byol and random with bootstrap 95 % intervals;
    arms: random, byol, moco-v2, simclr, self-emd-eq12, self-emd, self-emd+spc+scale, file:PATH,
    supervised:PATH (torchvision weights: .pth / .pt / .safetensors); Ctrl-C pauses`,
  predict: `selfemd predict RUN --image FILE [--out FILE.png] [--min-score X] [--backend B]
    a fine-tuned run’s boxes (and masks, for mask-rcnn) as JSON and drawn on a PNG; RUN: run folder, id, unique id prefix or name`,
  eval: `selfemd eval --gt GT.json --dt DETECTIONS.json [--iou-type bbox|segm] [--json]
    COCO stats (the 12 of pycocotools) of boxes, with VOC AP50, or of masks (segm: RLE results)`,
  clusters: `selfemd clusters add NAME --endpoint URL|unix:/SOCKET --user U --shared DIR --node-command CMD
                 [--token-file FILE | --token-stdin | --no-token] [--api-version v0.0.38] [--partition P]
                 [--account A] [--time MINUTES] [--gres gpu:1] [--cpus N] [--mem MB]
                 [--max-resubmits N (default 3: after a time limit, preemption or node failure)] [--json]
         | selfemd clusters list [--json] | selfemd clusters test NAME [--json] | selfemd clusters remove NAME
    Slurm clusters that runs go to with --on NAME (pretrain, finetune, study); add replaces a cluster
    of that name, keeping its token unless given one (never as a flag: it would stay in the shell's
    history); --shared: a folder this machine and the nodes both see; --node-command: what runs the
    built selfemd CLI on a node; test: slurmrestd answers and the shared folder is writable here`,
  import: `selfemd import PATH [--format auto|images|coco|voc|yolo] [--images DIR] [--split S] [--name S] [--json]
    record a dataset in the studio, with its import report; --images: a COCO dataset's image folder
    when the usual layouts (annotations/ + train/, images/, Roboflow's) do not find it, or a VOC
    dataset's instead of JPEGImages/; --split: a VOC list of ImageSets/Main (train, val, …)`,
  'slurm-node': `selfemd slurm-node RUN_DIR
    what the studio's Slurm jobs run on a node: RUN_DIR/job.json in the engine worker, its messages
    appended to RUN_DIR/events.jsonl for the studio to take in`,
};

const HELP = `selfemd — Self-EMD Studio, headless

${Object.values(USAGE)
  .map((u) => `  ${u}`)
  .join('\n')}
  selfemd help | selfemd COMMAND --help

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
  study: async () => (await import('./commands/study')).studyCommand,
  eval: async () => (await import('./commands/eval')).evalCommand,
  import: async () => (await import('./commands/import')).importCommand,
  clusters: async () => (await import('./commands/clusters')).clustersCommand,
  'slurm-node': async () => (await import('./commands/slurm-node')).slurmNodeCommand,
};

const isHelp = (a: string | undefined) => a === 'help' || a === '--help' || a === '-h';

let commandName = '';

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || isHelp(name)) {
    const topic = rest[0];
    if (topic && USAGE[topic]) console.log(`usage: ${USAGE[topic]}`);
    else console.log(HELP);
    return 0;
  }
  const load = COMMANDS[name];
  if (!load)
    throw new CliError(
      `selfemd: unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')}, help)`,
    );
  commandName = name;
  // `--help` anywhere before a `--` answers with the command's usage, whatever else is there
  const ownArgs = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (ownArgs.some((a) => a === '--help' || a === '-h')) {
    console.log(`usage: ${USAGE[name]}`);
    return 0;
  }
  await (
    await load()
  )(rest);
  return 0;
}

/**
 * Errors that are a bug of the studio rather than a problem with the user's input: these keep
 * their stack. Everything else our code throws is a plain Error whose message names the file or
 * field (the project's rule), a file-system error about a path the user gave, or a SyntaxError of
 * JSON.parse reading a file the user gave.
 */
function isBug(e: unknown): boolean {
  return (
    e instanceof TypeError ||
    e instanceof ReferenceError ||
    e instanceof RangeError ||
    e instanceof EvalError ||
    !(e instanceof Error)
  );
}

/** One line: the first line of the message, prefixed with the command. */
function oneLine(e: Error): string {
  const first = e.message.split('\n')[0]!.trim() || e.name;
  return first.startsWith('selfemd') ? first : `selfemd${commandName ? ` ${commandName}` : ''}: ${first}`;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (process.env.SELFEMD_DEBUG === '1') console.error((e as Error)?.stack ?? String(e));
    if (e instanceof CliError) {
      console.error(e.message);
      process.exit(e.exitCode);
    }
    if (e instanceof ConfigError) {
      console.error(`invalid config: ${e.message}`);
      process.exit(2);
    }
    if (!isBug(e)) {
      console.error(oneLine(e as Error));
      process.exit(2);
    }
    console.error(`selfemd: internal error (please report it): ${(e as Error)?.stack ?? String(e)}`);
    process.exit(1);
  },
);
