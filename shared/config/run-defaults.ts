/**
 * The defaults a new run starts from on a given machine, for the CLI and the studio alike: one pure
 * function of what the machine can run (the backends that load there, its cores) and of the backend
 * the run asks for. A GPU gets the paper's (and detectron2's) sizes; a native CPU build reduced sizes;
 * wasm and the plain CPU backend a run that finishes in minutes. The probing (which backends are
 * installed) happens in src-main/jobs/service/hardware.ts; nothing here touches the machine.
 */
import {
  DEFAULT_FINETUNE_CONFIG,
  DETECTOR_NAMES,
  cpuFinetuneOverrides,
  requestedDetector,
  type DetectorName,
} from './finetune';
import { BACKEND_CHOICES, cpuDemoOverrides, type BackendChoice } from './pretrain';
import { mergeDefaults } from './validation';
import type { WebGpuStatus } from '../dto/gpu-adapter';

/** What the defaults depend on (the studio's HardwareInfo is one). */
export interface MachineDescription {
  /** Backends that load here, in the order `auto` tries them. */
  backends: readonly BackendChoice[];
  cpus: number;
  /** webgpu's adapter, when probed: `auto` takes it only if it is a hardware (not fallback) one. */
  webgpu?: WebGpuStatus;
}

export type ConcreteBackend = Exclude<BackendChoice, 'auto'>;

/** A run's defaults on a machine, with a label saying which sizes they are (shown in the forms). */
export interface RunDefaults {
  label: string;
  overrides: Record<string, unknown>;
}

const AUTO_ORDER: readonly ConcreteBackend[] = ['tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm', 'cpu'];

/** A hardware GPU adapter was found for webgpu (a fallback one is a CPU emulation). */
function hardwareAdapter(machine: MachineDescription): boolean {
  return machine.webgpu?.state === 'available' && !machine.webgpu.adapter.fallback;
}

/** The backend a run asking for `choice` trains on here: `auto` takes the first one that loads. */
export function backendInUse(machine: MachineDescription, choice: BackendChoice = 'auto'): ConcreteBackend {
  if (choice !== 'auto') return choice;
  return (
    AUTO_ORDER.find((b) => machine.backends.includes(b) && (b !== 'webgpu' || hardwareAdapter(machine))) ??
    'cpu'
  );
}

/** A backend that gets the paper's sizes: a CUDA build, or webgpu on a hardware adapter. */
function onGpu(machine: MachineDescription, backend: ConcreteBackend): string | undefined {
  if (backend === 'tfjs-node-gpu') return 'GPU (tfjs-node-gpu)';
  if (backend === 'webgpu' && hardwareAdapter(machine)) return 'GPU (webgpu)';
  return undefined;
}

/** The backend named by partial overrides (`auto` when absent or not a backend: validation says so). */
export function requestedBackend(overrides: unknown): BackendChoice {
  const b = (overrides as { backend?: unknown } | null | undefined)?.backend;
  return BACKEND_CHOICES.includes(b as BackendChoice) ? (b as BackendChoice) : 'auto';
}

/** Pretraining sizes for the backend a run gets on this machine. */
export function pretrainDefaults(machine: MachineDescription, choice: BackendChoice = 'auto'): RunDefaults {
  const backend = backendInUse(machine, choice);
  const gpu = onGpu(machine, backend);
  if (gpu) return { label: `${gpu}: the paper’s sizes`, overrides: {} };
  if (backend === 'tfjs-node')
    return {
      label: `native CPU (${machine.cpus} cores): reduced sizes`,
      overrides: {
        backbone: { name: 'resnet18', baseWidth: 32 },
        data: { imageSize: 128 },
        optim: { epochs: 20, batchSize: 32, lr: 0.05, warmupEpochs: 1 },
        byol: { projectorHidden: 1024, projectionDim: 128, predictorHidden: 1024 },
        moco: { queueSize: 4096, projectorHidden: 1024, projectionDim: 128 },
        simclr: { projectorHidden: 1024, projectionDim: 128 },
      },
    };
  return { label: `${backend} (${machine.cpus} cores): small demo sizes`, overrides: cpuDemoOverrides() };
}

/** Fine-tuning sizes for the backend a run gets on this machine and the detector it trains. */
export function finetuneDefaults(
  machine: MachineDescription,
  choice: BackendChoice = 'auto',
  detector: DetectorName = DEFAULT_FINETUNE_CONFIG.detector,
): RunDefaults {
  const backend = backendInUse(machine, choice);
  const gpu = onGpu(machine, backend);
  if (gpu) return { label: `${gpu}: detectron2’s sizes`, overrides: {} };
  return {
    label: `CPU (${backend}, ${machine.cpus} cores): small detector sizes`,
    overrides: cpuFinetuneOverrides(detector),
  };
}

/** `finetuneDefaults` for every detector: what the studio's fine-tune form starts from for each. */
export function finetuneDefaultsByDetector(
  machine: MachineDescription,
  choice: BackendChoice = 'auto',
): Record<DetectorName, RunDefaults> {
  return Object.fromEntries(DETECTOR_NAMES.map((d) => [d, finetuneDefaults(machine, choice, d)])) as Record<
    DetectorName,
    RunDefaults
  >;
}

/**
 * Partial overrides on the machine's defaults for the backend (and detector) they ask for: what the CLI and the
 * studio hand to the config resolver, so that the same request gets the same run on either.
 */
export function withRunDefaults(
  kind: 'pretrain' | 'finetune',
  machine: MachineDescription,
  overrides: unknown,
): Record<string, unknown> {
  const backend = requestedBackend(overrides);
  const defaults =
    kind === 'pretrain'
      ? pretrainDefaults(machine, backend)
      : finetuneDefaults(machine, backend, requestedDetector(overrides));
  return mergeDefaults(defaults.overrides, overrides) as Record<string, unknown>;
}
