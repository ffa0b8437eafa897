/**
 * A new run's config as the studio resolves it: the user's overrides on this machine's defaults for the
 * backend they ask for (as the CLI's, shared/config/run-defaults.ts), the dataset's data source (the
 * dataset decides what is trained on, not a path typed into the form), the method, validated as the
 * training process will validate it, plus the checks only the service can make (dataset size vs batch).
 */
import {
  pretrainConfigIssues,
  pretrainDatasetTooSmall,
  plannedPretrainSteps,
  mergePretrainDefaults,
  type PretrainConfig,
} from '../../../shared/config/pretrain';
import { withRunDefaults, type MachineDescription } from '../../../shared/config/run-defaults';
import { mergeDefaults, type ConfigIssue } from '../../../shared/config/validation';
import type { NewRunMethod } from '../../../shared/api/types';
import type { DatasetRecord } from '../../../shared/dto';
import { readDatasetIndex } from './dataset-index';

export interface ResolvedRun {
  config: PretrainConfig | null;
  issues: ConfigIssue[];
  totalSteps: number | null;
}

/** Why a dataset cannot be pretrained on, or null when it can. */
export function notPretrainable(home: string, dataset: DatasetRecord): string | null {
  const index = readDatasetIndex(home, dataset.id);
  if (!index) return `dataset "${dataset.name}" has no image index; import it again`;
  if (index.demo && index.demo.stream !== 'train')
    return `"${dataset.name}" is the held-out demo split (for evaluating detectors); pretrain on a demo train split`;
  if (!index.demo && !index.imageRoot) return `dataset "${dataset.name}" has no image folder`;
  return null;
}

export function resolveNewRun(
  home: string,
  method: NewRunMethod,
  overrides: Record<string, unknown>,
  dataset: DatasetRecord | null,
  machine: MachineDescription,
): ResolvedRun {
  const issues: ConfigIssue[] = [];
  let data: Record<string, unknown> = {};
  if (dataset) {
    const why = notPretrainable(home, dataset);
    if (why) issues.push({ path: 'datasetId', message: why });
    const index = readDatasetIndex(home, dataset.id);
    data = index?.demo
      ? { source: 'demo', demoImages: index.demo.count }
      : { source: index?.imageRoot ?? dataset.path ?? '' };
  }
  // random-init trains nothing; its config is validated as a BYOL one (same backbone fields) and stored as such.
  const merged = mergePretrainDefaults(
    withRunDefaults(
      'pretrain',
      machine,
      mergeDefaults(overrides, { method: method === 'random-init' ? 'byol' : method, data }),
    ),
  );
  for (const i of pretrainConfigIssues(merged)) issues.push({ path: `config.${i.path}`, message: i.message });
  if (issues.some((i) => i.path.startsWith('config.'))) return { config: null, issues, totalSteps: null };
  const config = merged as PretrainConfig;
  let totalSteps: number | null = null;
  if (dataset && method !== 'random-init') {
    if (pretrainDatasetTooSmall(config, dataset.imageCount))
      issues.push({
        path: 'config.optim.batchSize',
        message: `must be at most the dataset's ${dataset.imageCount} images, got ${config.optim.batchSize}`,
      });
    else totalSteps = plannedPretrainSteps(config, dataset.imageCount).totalSteps;
  }
  if (method === 'random-init') totalSteps = 0;
  return { config, issues, totalSteps };
}
