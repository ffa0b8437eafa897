/**
 * Entry point of an engine process: receives one `start`, does the job (a training run or a short
 * task), streams what happens, exits. Runs apart from the UI and the store so a crash or a kill
 * cannot take either down; the supervisor persists what it reports.
 */
import type { WebGpuStatus } from '../../shared/dto/gpu-adapter';
import { initBackend, releaseBackend } from '../engine/backend/select';
import { generateDemoScene } from '../engine/data/demo-scenes';
import { decodeImageFile } from '../engine/data/image-folder';
import type { RawImage } from '../engine/data/raw-image';
import { inspectTransport } from '../engine/inspect/transport';
import { exportBackbone } from '../engine/train/export-backbone';
import { DEMO_DATASET_SEED, cacheShortSide, loadPretrainImages } from '../engine/data/pretrain-data';
import { runPretraining } from '../engine/train/pretrain';
import type { StopRequest, TrainingHooks } from '../engine/train/training-hooks';
import { loadDetectionData } from '../engine/detection/datasets';
import { runFinetune } from '../engine/detection/finetune';
import { initBackbone } from '../engine/detection/backbone-init';
import { DEFAULT_PROBE_OPTIONS, runProbePerBox } from '../engine/probe/probe';
import type {
  EngineJob,
  FinetuneJob,
  ImageRef,
  PretrainJob,
  ProbeJob,
  ProbeJobResult,
  TransportJob,
} from './protocol';
import { workerChannel } from './worker-channel';

const channel = workerChannel();
let stopRequest: StopRequest = 'continue';
let started = false;

// An orphaned run (its app or CLI died) checkpoints and stops instead of training unseen; the
// supervisor's next start shows it as interrupted, with a resume button.
channel.onDisconnect(() => {
  stopRequest = 'pause';
  if (!started) process.exit(0);
});
// A terminal's Ctrl-C reaches the whole process group, this process too: its supervisor decides
// (the CLI asks for a pause: checkpoint, then stop), so the signal alone must not kill a run mid-step.
process.on('SIGINT', () => undefined);
// On a cluster node (jobs/slurm/node-runner.ts) the job's checkpoint signal, sent before its time
// limit or by a pause, reaches every process of the job: checkpoint and stop rather than die mid-step.
// SIGTERM is what Slurm sends on a requeue, a preemption or scancel (SIGKILL follows after KillWait),
// and what a shutting-down system sends: the same graceful stop, so the run resumes from this step.
const checkpointAndStop = () => {
  stopRequest = 'pause';
  if (!started) process.exit(0);
};
process.on('SIGUSR2', checkpointAndStop);
process.on('SIGTERM', checkpointAndStop);

channel.onMessage((message) => {
  if (message.type === 'stop') stopRequest = message.mode;
  else if (message.type === 'start' && !started) {
    started = true;
    run(message.job).then(
      () => process.exit(0),
      (e: unknown) => {
        const err = e instanceof Error ? e : new Error(String(e));
        channel.send({ type: 'failed', name: err.name, message: err.message });
        // Let the IPC message leave before exiting.
        setTimeout(() => process.exit(1), 50);
      },
    );
  }
});

async function run(job: EngineJob): Promise<void> {
  if (job.kind === 'gpu-probe') return probeGpu();
  // Threads are chosen by a short measurement (≤ 2 s) at start-up and recorded with the run; a resumed
  // run keeps its recorded count, and SELFEMD_WASM_THREADS, when set, replaces the measurement.
  const recorded = 'threads' in job ? job.threads : undefined;
  const threads = recorded ?? (process.env.SELFEMD_WASM_THREADS?.trim() ? undefined : 'auto');
  const info = await initBackend(job.config.backend, { threads });
  channel.send({ type: 'backend', info });
  try {
    switch (job.kind) {
      case 'pretrain':
        return await pretrain(job);
      case 'finetune':
        return await finetune(job);
      case 'transport':
        return await transport(job);
      case 'probe':
        return await probe(job);
      case 'export': {
        const result = await exportBackbone(job);
        channel.send({ type: 'result', result });
      }
    }
  } finally {
    // The job's end releases the GPU device (webgpu): its buffers go back at once, and nothing
    // native is left to hold the process, whichever way the job ended.
    releaseBackend();
  }
}

/**
 * The GPU probe: would webgpu run in this process, and on which adapter (fallback ones included, as
 * an explicit webgpu run takes them)? SELFEMD_GPU / SELFEMD_GPU_POWER choose as they do for a run.
 */
async function probeGpu(): Promise<void> {
  let result: WebGpuStatus;
  try {
    const info = await initBackend('webgpu');
    result = info.gpu
      ? { state: 'available', adapter: info.gpu }
      : { state: 'unavailable', reason: 'the webgpu backend reported no adapter' };
  } catch (e) {
    const text = e instanceof Error ? e.message : String(e);
    result = {
      state: 'unavailable',
      reason: text.replace(/^Backend 'webgpu' could not be initialised: (webgpu: )?/, ''),
    };
  } finally {
    releaseBackend();
  }
  channel.send({ type: 'result', result });
}

async function pretrain(job: PretrainJob): Promise<void> {
  let shown = 0;
  const data = await loadPretrainImages(job.config.data, {
    onProgress: (done, total) => {
      if (done === total || done - shown >= 100) {
        shown = done;
        channel.send({ type: 'log', message: `images: ${done}/${total} decoded` });
      }
    },
  });
  for (const s of data.skipped) channel.send({ type: 'log', message: `skipped ${s.file}: ${s.reason}` });
  channel.send({ type: 'dataset', images: data.images.length, skipped: data.skipped });
  const result = await runPretraining({
    config: job.config,
    images: data.images,
    runDir: job.runDir,
    resume: job.resume,
    resumeStep: job.resumeStep,
    hooks: streamingHooks(),
  });
  channel.send({ type: 'finished', result });
}

/** What a training loop (pretraining, fine-tuning) streams to the supervisor, and how it is told to stop. */
function streamingHooks(): Required<TrainingHooks> {
  return {
    onMetrics: (points) => channel.send({ type: 'metrics', points }),
    onProgress: (progress) => channel.send({ type: 'progress', progress }),
    onCheckpoint: (c) => channel.send({ type: 'checkpoint', ...c }),
    onLog: (message) => channel.send({ type: 'log', message }),
    shouldStop: () => stopRequest,
  };
}

async function finetune(job: FinetuneJob): Promise<void> {
  const log = (message: string) => channel.send({ type: 'log', message });
  const data = await loadDetectionData(job.config, log);
  log(
    `${job.config.detector}: ${data.train.samples.length} train / ${data.val.samples.length} val images, ${data.train.categories.length} classes`,
  );
  channel.send({ type: 'dataset', images: data.train.samples.length, skipped: [] });
  const result = await runFinetune({
    config: job.config,
    train: data.train,
    val: data.val,
    runDir: job.runDir,
    resume: job.resume,
    resumeStep: job.resumeStep,
    hooks: {
      ...streamingHooks(),
      onEvaluation: (step, e) =>
        channel.send({
          type: 'evaluation',
          step,
          evaluation: {
            stats: e.stats,
            perCategory: e.perCategory,
            voc: e.voc,
            ...(e.segm ? { segm: e.segm } : {}),
          },
        }),
    },
  });
  // The evaluations went out as they happened; the detections stay in the run folder.
  const { evaluation: _evaluation, ...rest } = result;
  channel.send({ type: 'finished', result: rest });
}

async function loadImage(ref: ImageRef, shortSide: number): Promise<RawImage> {
  if ('path' in ref) return { id: ref.path, ...(await decodeImageFile(ref.path, shortSide)) };
  return generateDemoScene({ size: shortSide, seed: DEMO_DATASET_SEED, stream: 'train' }, ref.demoIndex)
    .image;
}

async function transport(job: TransportJob): Promise<void> {
  const shortSide = cacheShortSide(job.config.data);
  const image = await loadImage(job.image, shortSide);
  const image2 = job.image2 ? await loadImage(job.image2, shortSide) : undefined;
  const r = await inspectTransport({ ...job, image, image2 });
  channel.send({
    type: 'result',
    result: { ...r, crops: r.crops.map((png) => `data:image/png;base64,${png.toString('base64')}`) },
  });
}

/** The probe as `selfemd probe` runs it (the fine-tune config's backbone, data and test size). */
async function probe(job: ProbeJob): Promise<void> {
  const data = await loadDetectionData(job.config, (message) => channel.send({ type: 'log', message }));
  const { backbone } = await initBackbone(job.config);
  try {
    const options = { ...DEFAULT_PROBE_OPTIONS, size: job.config.data.minSizeTest, seed: job.config.seed };
    const { result, boxes } = await runProbePerBox(backbone, data.train, data.val, options);
    const answer: ProbeJobResult = {
      linearTop1: result.linearTop1,
      knnTop1: result.knnTop1,
      majorityTop1: result.majorityTop1,
      seconds: result.seconds,
      imageIds: Array.from(boxes.imageIds),
      linearCorrect: Array.from(boxes.linearCorrect),
    };
    channel.send({ type: 'result', result: answer });
  } finally {
    backbone.dispose();
  }
}
