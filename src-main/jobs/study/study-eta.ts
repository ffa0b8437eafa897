/**
 * How long a study should take here, from step times measured on this machine: each run's seconds
 * per step is the median gap between its consecutive loss points (robust to a pause between two
 * steps), and a planned run takes the time of measured runs of the same shape (kind, method or
 * detector, backbone and width, image size, batch) on the same backend. What was never measured is
 * said as unknown (null), not guessed.
 */
import type { FinetuneConfig } from '../../../shared/config/finetune';
import type { PretrainConfig } from '../../../shared/config/pretrain';
import type { StudyEstimate } from '../../../shared/api/types';
import { TREND_LOSS_KEY } from '../../../shared/metrics/learning-trend';
import type { RunRecord, StudyRunLink } from '../../../shared/dto';
import type { ExperimentStore } from '../../store';
import type { StudyPlan, StudyPlanPreview } from './study-plan';

/** Median seconds between consecutive loss points of a run; null with fewer than two. */
export function secondsPerStep(store: ExperimentStore, runId: string): number | null {
  const points = store.getMetrics(runId, [TREND_LOSS_KEY])[0]?.points ?? [];
  const gaps: number[] = [];
  for (let i = 1; i < points.length; i++) {
    const steps = points[i]!.step - points[i - 1]!.step;
    if (steps > 0) gaps.push((points[i]!.wallTime - points[i - 1]!.wallTime) / 1000 / steps);
  }
  if (gaps.length === 0) return null;
  gaps.sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)]!;
}

/** What decides a step's cost. */
export function runShape(kind: RunRecord['kind'], config: unknown): string {
  if (kind === 'pretrain') {
    const c = config as PretrainConfig;
    const spc = c.method === 'self-emd' ? `/${c.emd?.spc}/${c.emd?.scaleView}` : '';
    return `pretrain/${c.method}${spc}/${c.backbone?.name}/${c.backbone?.baseWidth}/${c.data?.imageSize}/${c.optim?.batchSize}`;
  }
  const c = config as FinetuneConfig;
  return `finetune/${c.detector}/${c.backbone?.name}/${c.backbone?.baseWidth}/${c.data?.minSizeTest}/${c.optim?.batchSize}`;
}

/** Seconds per step by run shape, over the store's runs on `backend` (the newest measured of each shape). */
export function measuredStepTimes(store: ExperimentStore, backend: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const run of store.listRuns({ limit: 200 })) {
    if (run.backend?.name !== backend || run.method === 'random-init') continue;
    const key = runShape(run.kind, run.config);
    if (out.has(key)) continue;
    const s = secondsPerStep(store, run.id);
    if (s !== null) out.set(key, s);
  }
  return out;
}

/** The estimate of a plan's remaining work (all of it for a new study; `links` are a study's runs so far). */
export function estimateStudy(
  store: ExperimentStore,
  plan: StudyPlan | StudyPlanPreview,
  backend: string,
  links: StudyRunLink[] = [],
): StudyEstimate {
  const times = measuredStepTimes(store, backend);
  const done = (arm: string, role: 'pretrain' | 'finetune', seed: number | null) => {
    const l = links.find((x) => x.arm === arm && x.role === role && x.seed === seed);
    if (!l) return 0;
    const run = store.getRun(l.runId);
    return run.status === 'completed' ? Number.POSITIVE_INFINITY : run.step;
  };
  const ssl = plan.arms.filter((a) => a.kind === 'ssl');
  let seconds = 0;
  let known = true;
  const perStep = { pretrain: [] as number[], finetune: [] as number[] };
  for (const arm of ssl) {
    const t = times.get(runShape('pretrain', arm.pretrain));
    if (t !== undefined) perStep.pretrain.push(t);
    const left = Math.max(0, plan.steps.pretrain - done(arm.name, 'pretrain', null));
    if (left > 0 && t === undefined) known = false;
    seconds += left * (t ?? 0);
  }
  const ft = times.get(runShape('finetune', plan.finetune));
  if (ft !== undefined) perStep.finetune.push(ft);
  for (const arm of plan.arms)
    for (const s of plan.seeds.keys()) {
      const left = Math.max(0, plan.steps.finetune - done(arm.name, 'finetune', s));
      if (left > 0 && ft === undefined) known = false;
      seconds += left * (ft ?? 0);
    }
  const avg = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : null);
  return {
    pretrainRuns: ssl.length,
    finetuneRuns: plan.arms.length * plan.seeds.length,
    pretrainSteps: plan.steps.pretrain,
    finetuneSteps: plan.steps.finetune,
    secondsPerStep: { pretrain: avg(perStep.pretrain), finetune: avg(perStep.finetune) },
    seconds: known ? seconds : null,
  };
}
