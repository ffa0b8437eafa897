/**
 * The detection probe during pretraining: before the first step, every `probe.every` optimizer steps
 * and after the last,
 * the online backbone (as it is then, frozen for the probe) is probed on config.probe.data, and the
 * accuracies are reported as metrics (`probe/linear_top1`, `probe/knn_top1`) at that step, so the
 * store records them beside the loss and the collapse monitor.
 */
import type { PretrainConfig } from '../../../shared/config/pretrain';
import type { Backbone } from '../models/types';
import type { TrainingHooks } from '../train/training-hooks';
import type { LoopPosition } from '../train/training-loop';
import { DEFAULT_PROBE_OPTIONS, runProbe, type ProbeOptions } from './probe';
import { loadProbeData } from './probe-data';

export const PROBE_METRIC_KEYS = { linear: 'probe/linear_top1', knn: 'probe/knn_top1' } as const;

/** The hook's options for a run: the run's image size and seed, the probe's defaults otherwise. */
export function pretrainProbeOptions(config: PretrainConfig): ProbeOptions {
  return { ...DEFAULT_PROBE_OPTIONS, size: config.data.imageSize, seed: config.seed };
}

/**
 * Loads the probe's data once and returns the after-step hook that probes `backbone()` when due;
 * null when the config has no probe.
 */
export async function createPretrainProbe(
  config: PretrainConfig,
  totalSteps: number,
  hooks: TrainingHooks,
): Promise<((at: LoopPosition, backbone: Backbone) => Promise<void>) | null> {
  if (!config.probe.data) return null;
  const data = await loadProbeData(config.probe, config.data.imageSize, hooks.onLog);
  const options = pretrainProbeOptions(config);
  hooks.onLog?.(
    `probe: ${data.train.samples.length} train / ${data.val.samples.length} val images of ${config.probe.data}, every ${config.probe.every} steps`,
  );
  return async (at, backbone) => {
    if (at.step % config.probe.every !== 0 && at.step !== totalSteps) return;
    const r = await runProbe(backbone, data.train, data.val, options);
    const wallTime = Date.now();
    hooks.onMetrics?.([
      { key: PROBE_METRIC_KEYS.linear, value: r.linearTop1, step: at.step, wallTime },
      { key: PROBE_METRIC_KEYS.knn, value: r.knnTop1, step: at.step, wallTime },
    ]);
    hooks.onLog?.(
      `step ${at.step}: probe linear top-1 ${(100 * r.linearTop1).toFixed(1)} %, kNN top-1 ${(100 * r.knnTop1).toFixed(1)} % ` +
        `(${r.valBoxes} val boxes, majority class ${(100 * r.majorityTop1).toFixed(1)} %; ${r.seconds.toFixed(1)} s)`,
    );
  };
}
