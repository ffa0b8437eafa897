/**
 * A finished study's result: per metric, each arm's mean ± sd over seeds and every seed's value (the
 * numbers its fine-tune runs recorded, and its probes), and each arm's paired difference to `byol` and
 * to `random` with a bootstrap 95 % interval over seeds and val images. For the bootstrap each
 * fine-tune's val detections (val_detections.json in its run folder) are scored again on resampled
 * image sets by the one COCO / VOC evaluator, and each probe's per-box outcomes are recounted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StudyMetricRow, StudyRecord, StudyResult } from '../../../shared/dto/studies';
import { scoreDetections } from '../../engine/detection/evaluate';
import type { CocoDataset, CocoDetection } from '../../engine/eval/coco-types';
import { COCO_STAT_NAMES } from '../../engine/eval/cocoeval';
import { CocoResampler } from '../../engine/eval/resample';
import { bootstrapArmMeans, mean, pairedInterval, sampleSd, separable } from '../../engine/stats/bootstrap';
import { oneDecimal, signedOneDecimal } from '../../../shared/metrics/study-format';
import { SEGM_STAT_PREFIX } from '../../../shared/dto/evaluations';
import type { ExperimentStore } from '../../store';
import type { StudyPlan } from './study-plan';

/** The table's metrics: COCO's six AP numbers, VOC's AP50, the probe's linear top-1. */
export const STUDY_METRICS = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'VOC AP50', 'probe'] as const;
/** COCO's stats the table takes for boxes (the first six), and for a mask detector's masks (the first three). */
const BOX_NAMES = COCO_STAT_NAMES.slice(0, 6);
const MASK_NAMES = COCO_STAT_NAMES.slice(0, 3);
/** A mask detector's study also tabulates its masks' COCO AP, AP50 and AP75 (the segm evaluation). */
const STUDY_MASK_METRICS = MASK_NAMES.map((k) => `mask ${k}`);
const REFERENCES = ['byol', 'random'];

/** The metrics of a study whose fine-tunes use `detector`: the box ones, then the masks' before the probe. */
export function studyMetrics(detector: string | undefined): string[] {
  const masks = detector === 'mask-rcnn' ? STUDY_MASK_METRICS : [];
  return [...STUDY_METRICS.slice(0, -1), ...masks, 'probe'];
}

/** COCO's −1 ("no objects of that size") and a missing number are NaN; the rest in percent. */
const pct = (v: number | undefined) => (typeof v === 'number' && v >= 0 ? 100 * v : Number.NaN);

/** The detection metrics (studyMetrics order, without the probe) of one evaluation's COCO stats. */
function detectionMetrics(
  stats: readonly number[],
  vocMap: number,
  segmStats: readonly number[] | undefined,
  masks: boolean,
): number[] {
  return [
    ...BOX_NAMES.map((_, i) => pct(stats[i])),
    pct(vocMap),
    ...(masks ? MASK_NAMES.map((_, i) => pct(segmStats?.[i])) : []),
  ];
}

interface SeedData {
  /** The run's recorded metrics (percent), studyMetrics order. */
  recorded: number[];
  resampler: CocoResampler;
  /** Per val image index: correct and total probe boxes. */
  probeCorrect: Float64Array;
  probeBoxes: Float64Array;
}

const readJsonFile = <T>(file: string): T => {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw new Error(`study result: cannot read ${file}: ${(e as Error).message}`);
  }
};

const signed = signedOneDecimal;
const fmt = oneDecimal;
const finiteOrNull = (v: number) => (Number.isFinite(v) ? v : null);

export function computeStudyResult(
  store: ExperimentStore,
  study: StudyRecord,
  runFolder: (runId: string) => string,
  outDir: string,
): StudyResult {
  const plan = study.config as unknown as StudyPlan;
  const arms = plan.arms.map((a) => a.name);
  const seeds = plan.seeds;
  const masks = plan.finetune?.detector === 'mask-rcnn';
  const metrics = studyMetrics(plan.finetune?.detector);
  const links = store.studyRuns(study.id);
  const probes = store.studyProbes(study.id);
  let valIds: string | null = null;
  const data: SeedData[][] = arms.map((arm) =>
    seeds.map((_, s) => {
      const link = links.find((l) => l.role === 'finetune' && l.arm === arm && l.seed === s);
      if (!link) throw new Error(`study ${study.id}: arm ${arm} has no fine-tune of seed ${s}`);
      const evaluations = store.listEvaluations(link.runId);
      const step = Math.max(-1, ...evaluations.map((e) => e.checkpointStep ?? -1));
      const coco = evaluations.find((e) => e.kind === 'coco' && e.checkpointStep === step);
      const voc = evaluations.find((e) => e.kind === 'voc' && e.checkpointStep === step);
      if (!coco || !voc)
        throw new Error(`study ${study.id}: run ${link.runId} (${arm}, seed ${s}) has no evaluation`);
      // the record's names (finetune-record.ts): `AP`, …, and a mask detector's `segm_AP`, …
      const recorded = detectionMetrics(
        BOX_NAMES.map((k) => coco.stats[k] ?? -1),
        voc.stats.mAP ?? -1,
        MASK_NAMES.map((k) => coco.stats[SEGM_STAT_PREFIX + k] ?? -1),
        masks,
      );
      const dir = runFolder(link.runId);
      const gt = readJsonFile<CocoDataset>(path.join(dir, 'val_gt.json'));
      const dets = readJsonFile<CocoDetection[]>(path.join(dir, 'val_detections.json'));
      const ids = gt.images.map((im) => im.id).join(',');
      if (valIds !== null && ids !== valIds)
        throw new Error(
          `study ${study.id}: run ${link.runId} was evaluated on other val images than the others`,
        );
      valIds = ids;
      const resampler = new CocoResampler(gt, dets);
      const index = resampler.imageIndex();
      const probeCorrect = new Float64Array(resampler.imageCount);
      const probeBoxes = new Float64Array(resampler.imageCount);
      const probe = probes.find((p) => p.arm === arm && p.seed === s);
      if (!probe) throw new Error(`study ${study.id}: arm ${arm} has no probe of seed ${s}`);
      probe.boxes.imageIds.forEach((id, j) => {
        const i = index.get(id);
        if (i === undefined)
          throw new Error(`study ${study.id}: probe of ${arm} names val image ${id}, not in the val set`);
        probeBoxes[i]!++;
        probeCorrect[i]! += probe.boxes.linearCorrect[j]!;
      });
      return { recorded: [...recorded, 100 * probe.stats.linearTop1], resampler, probeCorrect, probeBoxes };
    }),
  );
  const imageCount = data[0]![0]!.resampler.imageCount;

  const score = (draw: Int32Array): number[][][] =>
    data.map((armData) =>
      armData.map((d) => {
        const { gt, dets } = d.resampler.draw(draw);
        // A mask detector's masks are scored again too (its val detections carry them).
        const e = scoreDetections({ coco: gt }, dets, { lastMaxDetOnly: true, segm: masks });
        let correct = 0;
        let boxes = 0;
        for (const i of draw) {
          correct += d.probeCorrect[i]!;
          boxes += d.probeBoxes[i]!;
        }
        return [
          ...detectionMetrics(e.stats, e.voc.mAP, e.segm?.stats, masks),
          boxes ? (100 * correct) / boxes : Number.NaN,
        ];
      }),
    );
  const replicates = bootstrapArmMeans(score, {
    arms: arms.length,
    seeds: seeds.length,
    metrics: metrics.length,
    images: imageCount,
    replicates: plan.bootstrap.replicates,
    seed: plan.bootstrap.seed,
  });

  const rows: StudyMetricRow[] = metrics.map((metric, m) => {
    const armRows = arms.map((arm, a) => {
      const values = data[a]!.map((d) => d.recorded[m]!);
      const defined = values.filter(Number.isFinite);
      return {
        arm,
        mean: defined.length ? mean(defined) : null,
        sd: defined.length ? sampleSd(defined) : null,
        seeds: values.map(finiteOrNull),
      };
    });
    const differences: StudyMetricRow['differences'] = [];
    for (const reference of REFERENCES) {
      const b = arms.indexOf(reference);
      if (b < 0) continue;
      arms.forEach((arm, a) => {
        // random − byol would mirror byol − random, which the random reference gives
        if (a === b || (reference === 'byol' && arm === 'random')) return;
        const ma = armRows[a]!.mean;
        const mb = armRows[b]!.mean;
        if (ma === null || mb === null) return;
        const i = pairedInterval(replicates, a, b, m, ma - mb);
        if (i.replicates === 0) return;
        const sep = separable(i);
        const unit = metric === 'probe' ? 'probe top-1 %' : metric;
        differences.push({
          arm,
          reference,
          estimate: i.estimate,
          low: i.low,
          high: i.high,
          separable: sep,
          text: `${arm} − ${reference}: ${signed(i.estimate)} ${unit} [${signed(i.low)}, ${signed(i.high)}], ${sep ? 'separable' : 'not separable'} at this budget`,
        });
      });
    }
    return { metric, arms: armRows, differences };
  });

  fs.mkdirSync(outDir, { recursive: true });
  const files = {
    markdown: path.join(outDir, 'result.md'),
    csv: path.join(outDir, 'result.csv'),
    json: path.join(outDir, 'result.json'),
  };
  const result: StudyResult = {
    studyId: study.id,
    budget: study.budget,
    arms,
    seeds,
    valImages: imageCount,
    replicates: plan.bootstrap.replicates,
    rows,
    files,
  };
  fs.writeFileSync(files.markdown, studyMarkdown(study, result));
  fs.writeFileSync(files.csv, studyCsv(result));
  fs.writeFileSync(files.json, `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

const diffCell = (row: StudyMetricRow, arm: string, reference: string) => {
  const d = row.differences.find((x) => x.arm === arm && x.reference === reference);
  return d ? `${signed(d.estimate)} [${signed(d.low)}, ${signed(d.high)}]${d.separable ? ' *' : ''}` : '';
};

/** The table as Markdown: one block per metric, then every difference in words. */
export function studyMarkdown(study: Pick<StudyRecord, 'name' | 'id'>, r: StudyResult): string {
  const refs = REFERENCES.filter((x) => r.arms.includes(x));
  const lines = [
    `# Study ${study.name} (${study.id})`,
    '',
    `Budget ${r.budget}; arms ${r.arms.join(', ')}; fine-tune seeds ${r.seeds.join(', ')}; ${r.valImages} val images;`,
    `differences: paired bootstrap over seeds and val images, ${r.replicates} replicates, 95 % interval (* : excludes 0).`,
    'All numbers in percent.',
    '',
  ];
  for (const row of r.rows) {
    lines.push(`## ${row.metric}`, '');
    lines.push(`| arm | mean ± sd | seeds | ${refs.map((x) => `− ${x} [95 %]`).join(' | ')} |`);
    lines.push(`| --- | --- | --- | ${refs.map(() => '---').join(' | ')} |`);
    for (const a of row.arms)
      lines.push(
        `| ${a.arm} | ${fmt(a.mean)} ± ${fmt(a.sd)} | ${a.seeds.map(fmt).join(', ')} | ${refs.map((x) => diffCell(row, a.arm, x)).join(' | ')} |`,
      );
    lines.push('');
  }
  lines.push('## In words', '');
  for (const row of r.rows) for (const d of row.differences) lines.push(`- ${d.text}`);
  return `${lines.join('\n')}\n`;
}

export function studyCsv(r: StudyResult): string {
  const refs = REFERENCES.filter((x) => r.arms.includes(x));
  const header = [
    'metric',
    'arm',
    'mean',
    'sd',
    ...r.seeds.map((s) => `seed_${s}`),
    ...refs.flatMap((x) => [`minus_${x}`, `minus_${x}_low`, `minus_${x}_high`]),
  ];
  const num = (v: number | null | undefined) => (v === null || v === undefined ? '' : v.toFixed(4));
  const out = [header.join(',')];
  for (const row of r.rows)
    for (const a of row.arms) {
      const diffs = refs.flatMap((x) => {
        const d = row.differences.find((y) => y.arm === a.arm && y.reference === x);
        return [num(d?.estimate), num(d?.low), num(d?.high)];
      });
      out.push(
        [`"${row.metric}"`, `"${a.arm}"`, num(a.mean), num(a.sd), ...a.seeds.map(num), ...diffs].join(','),
      );
    }
  return `${out.join('\n')}\n`;
}
