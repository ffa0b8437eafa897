/**
 * A new detector fine-tune as the studio resolves it: the user's overrides on this machine's defaults
 * for the backend they ask for (as the CLI's, shared/config/run-defaults.ts), with what the user picked from the store deciding the rest — the
 * train and val datasets decide the data (demo splits or an imported COCO / VOC / YOLO source), the
 * init decides the backbone (a pretraining run's latest checkpoint, a random-init baseline's seeded
 * weights, an exported backbone file, or fresh random weights). Validated as the training process will validate it, plus the
 * checks only the service can make (boxes, splits, label sets, a checkpoint to start from).
 */
import * as fs from 'node:fs';
import {
  finetuneConfigIssues,
  mergeFinetuneDefaults,
  plannedFinetuneSteps,
  type FinetuneConfig,
} from '../../../shared/config/finetune';
import { withRunDefaults, type MachineDescription } from '../../../shared/config/run-defaults';
import { labelSetDifference } from '../../../shared/config/label-set';
import { mergeDefaults, type ConfigIssue } from '../../../shared/config/validation';
import type { ArgsOf } from '../../../shared/api/methods';
import type { DatasetRecord, RunRecord } from '../../../shared/dto';
import type { ExperimentStore } from '../../store';
import { notFound } from './api-errors';
import { readDatasetIndex } from './dataset-index';
import { describeWeightsFile } from './weights-file';

/** What runs.validateFinetune receives (runs.startFinetune's args are the same with ids required). */
export type FinetuneRequest = ArgsOf<'runs.validateFinetune'>;

export interface ResolvedFinetune {
  config: FinetuneConfig | null;
  issues: ConfigIssue[];
  totalSteps: number | null;
  /** The run the backbone comes from (linked as the fine-tune's parent). */
  parent: RunRecord | null;
  train: DatasetRecord | null;
  val: DatasetRecord | null;
  /** In words, for the run's log. */
  initDescription: string;
}

type Which = 'train' | 'val';

function dataset(store: ExperimentStore, id: number | undefined, which: Which): DatasetRecord | null {
  if (id === undefined) return null;
  try {
    return store.getDataset(id);
  } catch {
    throw notFound(`the ${which} dataset (id ${id}) does not exist`, 'Pick a dataset from the list.');
  }
}

/** The data fields a dataset decides, or null with an issue saying why it cannot be used. */
function dataFields(
  home: string,
  d: DatasetRecord,
  which: Which,
  issues: ConfigIssue[],
): Record<string, unknown> | null {
  const field = `${which}DatasetId`;
  const problem = (message: string) => {
    issues.push({ path: field, message });
    return null;
  };
  if (d.kind === 'images' || d.annotationCount === 0)
    return problem(
      `"${d.name}" has no boxes (${d.kind === 'images' ? 'a folder of images' : 'no annotations'}); a detector needs a labelled dataset: the demo scenes, or an imported COCO, VOC or YOLO dataset`,
    );
  if (d.kind === 'demo') {
    const demo = readDatasetIndex(home, d.id)?.demo;
    if (!demo) return problem(`"${d.name}" has no scene index; add the demo scenes again`);
    if (which === 'train' && demo.stream !== 'train')
      return problem(`"${d.name}" is the held-out demo val split; train on a demo train split`);
    if (which === 'val' && demo.stream !== 'val')
      return problem(
        `"${d.name}" is a demo train split (the images being trained on); evaluate on a demo val split`,
      );
    return which === 'train'
      ? { train: 'demo', demoTrain: demo.count, demoSeed: demo.seed }
      : { val: 'demo', demoVal: demo.count, demoSeed: demo.seed };
  }
  if (!d.path || !fs.existsSync(d.path))
    return problem(`"${d.name}": its source ${d.path ?? '(none)'} is no longer on disk; import it again`);
  // read as it was imported: the same split and image folder
  const options = readDatasetIndex(home, d.id)?.importOptions ?? {};
  return {
    [which]: d.path,
    [`${which}Split`]: options.split ?? '',
    [`${which}Images`]: options.imageDir ?? '',
  };
}

/** Where a fine-tune's backbone comes from, as the studio's form and `selfemd finetune --init` name it. */
export type FinetuneInitRequest = Pick<FinetuneRequest, 'init' | 'parentRunId' | 'weightsPath'>;

export interface ResolvedFinetuneInit {
  /** The config fields the init decides (init, backbone, and a baseline's seed). */
  forced: Record<string, unknown>;
  /** The run the backbone comes from (linked as the fine-tune's parent). */
  parent: RunRecord | null;
  /** In words, for the run's log. */
  initDescription: string;
}

/**
 * The init's config fields, for the studio and the CLI alike: a pretraining run's recorded backbone
 * and last recorded checkpoint, a random-init baseline's backbone and seed, an exported file's header
 * (describeWeightsFile), or fresh random weights. What cannot be used is added to `issues`, under the
 * request field it concerns.
 */
export function resolveFinetuneInit(
  store: ExperimentStore,
  req: FinetuneInitRequest,
  issues: ConfigIssue[],
): ResolvedFinetuneInit {
  const forced: Record<string, unknown> = {};
  let parent: RunRecord | null = null;
  let initDescription = 'random init (a baseline with no pretraining)';
  if (req.init !== 'file' && req.weightsPath !== undefined)
    issues.push({ path: 'weightsPath', message: `must be left out with init "${req.init}"` });
  if (req.init === 'random') {
    forced.init = { kind: 'random', path: '' };
    if (req.parentRunId !== undefined)
      issues.push({
        path: 'parentRunId',
        message: 'must be left out with init "random" (a random baseline has no parent)',
      });
  } else if (req.init === 'file') {
    if (req.parentRunId !== undefined)
      issues.push({
        path: 'parentRunId',
        message: 'must be left out with init "file" (the file names its run)',
      });
    if (req.weightsPath === undefined)
      issues.push({ path: 'weightsPath', message: 'is required with init "file": which exported backbone?' });
    else {
      const file = describeWeightsFile(req.weightsPath);
      if (typeof file === 'string') issues.push({ path: 'weightsPath', message: file });
      else {
        forced.init = { kind: file.kind, path: file.path };
        forced.backbone = { name: file.arch, baseWidth: file.baseWidth };
        // The run it was exported from, if it is still in the store, becomes the parent.
        parent = file.runId && store.hasRun(file.runId) ? store.getRun(file.runId) : null;
        initDescription = `${file.kind === 'pytorch' ? 'the PyTorch state dict' : 'the exported backbone'} ${file.path} (${file.arch}, width ${file.baseWidth}${parent ? `, from "${parent.name}"` : ''})`;
      }
    }
  } else if (req.parentRunId === undefined) {
    issues.push({ path: 'parentRunId', message: 'is required with init "parent": which pretraining run?' });
  } else {
    if (!store.hasRun(req.parentRunId))
      throw notFound(`the pretraining run ${req.parentRunId} does not exist`, 'It may have been deleted.');
    parent = store.getRun(req.parentRunId);
    const pc = parent.config as { seed?: unknown; backbone?: { name?: unknown; baseWidth?: unknown } };
    const backbone = { name: pc.backbone?.name, baseWidth: pc.backbone?.baseWidth };
    if (parent.kind !== 'pretrain') {
      issues.push({
        path: 'parentRunId',
        message: `"${parent.name}" is a fine-tune run; a detector's backbone comes from a pretraining run`,
      });
      parent = null;
    } else if (parent.method === 'random-init') {
      // The baseline arm: its recorded backbone and seed are the detector's initial weights.
      forced.init = { kind: 'random', path: '' };
      forced.backbone = backbone;
      forced.seed = pc.seed;
      initDescription = `the random-init baseline "${parent.name}" (seed ${String(pc.seed)})`;
    } else {
      const last = store.lastCheckpoint(parent.id);
      if (!last || !fs.existsSync(last.path)) {
        issues.push({
          path: 'parentRunId',
          message: `"${parent.name}" has no checkpoint on disk yet; wait for its first checkpoint`,
        });
      } else {
        forced.init = { kind: 'pretrain-run', path: last.path };
        forced.backbone = backbone;
        initDescription = `"${parent.name}" (${parent.method}), checkpoint of step ${last.step}`;
      }
    }
  }
  return { forced, parent, initDescription };
}

export function resolveNewFinetune(
  home: string,
  store: ExperimentStore,
  req: FinetuneRequest,
  machine: MachineDescription,
): ResolvedFinetune {
  const issues: ConfigIssue[] = [];
  const train = dataset(store, req.trainDatasetId, 'train');
  const val = dataset(store, req.valDatasetId, 'val');
  const trainData = train ? dataFields(home, train, 'train', issues) : null;
  const valData = val ? dataFields(home, val, 'val', issues) : null;
  // AP measured on the images the detector trained on says nothing about the backbone.
  if (train && val && train.id === val.id)
    issues.push({
      path: 'valDatasetId',
      message: `is the train dataset ("${train.name}"): evaluate on held-out images (import a separate val set)`,
    });
  else if (train && val && trainData && valData) {
    // matched by name: the same names in another order or under other ids are one label set
    const differs = labelSetDifference(train.categories, val.categories, {
      train: `"${train.name}"`,
      val: `"${val.name}"`,
    });
    if (differs)
      issues.push({
        path: 'valDatasetId',
        message: `"${val.name}" has other categories than "${train.name}" (${differs}); a detector needs one label set`,
      });
  }

  const init = resolveFinetuneInit(store, req, issues);
  const { parent, initDescription } = init;
  const forced = { ...init.forced, data: { ...trainData, ...valData } };
  const merged = mergeFinetuneDefaults(
    withRunDefaults('finetune', machine, mergeDefaults(req.config, forced)),
  );
  for (const i of finetuneConfigIssues(merged)) issues.push({ path: `config.${i.path}`, message: i.message });
  if (issues.some((i) => i.path.startsWith('config.')))
    return { config: null, issues, totalSteps: null, parent, train, val, initDescription };
  const config = merged as FinetuneConfig;
  const totalSteps = train ? plannedFinetuneSteps(config, train.imageCount).totalSteps : null;
  return { config, issues, totalSteps, parent, train, val, initDescription };
}
