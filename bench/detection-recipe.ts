/**
 * One fine-tuning run of the recipe search in docs/detection.md: the CPU preset of the detector the
 * overrides name (`cpuFinetuneOverrides(detector)`) under JSON overrides, on the demo split, from random init, through the
 * real loop. Prints the loss terms' trend (means over eighths of the run), every evaluation's AP50
 * with the CPU time spent so far, and a RESULT line with the process's CPU and wall time: on a
 * shared machine CPU time (this backend is single-threaded) is what an idle machine's wall time
 * would be.
 *
 *   npx tsx bench/detection-recipe.ts '{"detector":"faster-rcnn","optim":{"lr":0.04}}' TAG
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../src-main/engine/backend/select';
import { loadDetectionData } from '../src-main/engine/detection/datasets';
import { runFinetune } from '../src-main/engine/detection/finetune';
import { cpuRecipeConfig } from './cpu-recipe-config';

const overrides = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
const tag = process.argv[3] ?? 'run';
const config = cpuRecipeConfig(overrides, { checkpoint: { everySteps: 1_000_000 } });
await initBackend(config.backend);
const data = await loadDetectionData(config);
// RECIPE_KEEP=DIR keeps the run folder (its final checkpoint) there, for re-scoring the model.
const keep = process.env.RECIPE_KEEP;
const runDir = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), `selfemd-recipe-${tag}-`));
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const cpuSeconds = () => {
  const c = process.cpuUsage(cpu0);
  return (c.user + c.system) / 1e6;
};
const series = new Map<string, number[]>();
const evals: string[] = [];
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

const result = await runFinetune({
  config,
  train: data.train,
  val: data.val,
  runDir,
  hooks: {
    onMetrics: (points) => {
      for (const p of points) {
        if (!p.key.startsWith('loss/')) continue;
        if (!series.has(p.key)) series.set(p.key, []);
        series.get(p.key)!.push(p.value);
      }
    },
    onProgress: (p) => {
      if (p.step % 50 === 0)
        console.log(
          `PROG ${tag} ${p.step}/${p.totalSteps} loss ${mean((series.get('loss/total') ?? []).slice(-50)).toFixed(3)} cpu ${cpuSeconds().toFixed(0)}s`,
        );
    },
    onEvaluation: (step, e) => {
      evals.push(`${step}:${(100 * e.stats[1]!).toFixed(1)}@${cpuSeconds().toFixed(0)}s`);
      console.log(
        `EVAL ${tag} step ${step} AP ${(100 * e.stats[0]!).toFixed(1)} AP50 ${(100 * e.stats[1]!).toFixed(1)} cpu ${cpuSeconds().toFixed(0)}s`,
      );
    },
  },
});
if (!keep) fs.rmSync(runDir, { recursive: true, force: true });
const eighths = (a: number[]) =>
  Array.from({ length: 8 }, (_, i) =>
    mean(a.slice(Math.floor((i * a.length) / 8), Math.floor(((i + 1) * a.length) / 8))).toFixed(3),
  ).join(' ');
for (const [k, v] of series) console.log(`${tag} ${k}: ${eighths(v)}`);
const s = result.evaluation!.stats;
console.log(
  `RESULT ${tag} ${config.detector} steps ${result.step} AP ${(100 * s[0]!).toFixed(1)} AP50 ${(100 * s[1]!).toFixed(1)} ` +
    `evals ${evals.join(',')} cpu ${cpuSeconds().toFixed(0)}s wall ${((performance.now() - t0) / 1000).toFixed(0)}s overrides ${JSON.stringify(overrides)}`,
);
