/**
 * Load on a browser-mode studio (its HTTP server, its StudioService, real training processes):
 * - three tiny pretrainings and a tiny fine-tune train at once while a client polls every run's
 *   metrics (`metrics.get`, as the charts ask: up to 4 000 points a series) and the run list over
 *   HTTP every `pollMs`; it measures each call's latency (p50, p99, max) and checks, at the end, that
 *   every run completed with each step's loss recorded exactly once;
 * - a run of 100 000 steps written straight into the store (six keys, 600 000 rows), loaded as the
 *   charts load it: the answer must come in time and be downsampled to at most 4 000 points a series
 *   with the first and last step and a one-step spike kept.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeWire, encodeWire } from '../../shared/api/wire';
import type { MetricSeries } from '../../shared/dto';
import { StudioService } from '../../src-main/jobs/studio-service';
import { startStudioServer, type StudioServer } from '../../src-main/server/studio-server';
import { TINY_FINETUNE, TINY_PRETRAIN } from '../../test/jobs/tiny-run';

/** What the renderer's charts ask for (src-renderer/stores/metrics.ts). */
export const CHART_MAX_POINTS = 4000;

export interface LoadResult {
  calls: number;
  latencyMs: { p50: number; p99: number; max: number };
  runs: { name: string; status: string; steps: number; totalSteps: number; duplicated: number }[];
  longRun: { rows: number; loadMs: number[]; pointsPerSeries: number; keptSpike: boolean; keptEnds: boolean };
  seconds: number;
}

function post(server: StudioServer, method: string, args: unknown): Promise<{ ms: number; body: unknown }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: server.port,
        path: `/api/call/${method}`,
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${server.token}` },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ ms: performance.now() - t0, body: decodeWire(Buffer.concat(chunks).toString('utf8')) }),
        );
      },
    );
    req.on('error', reject);
    req.end(encodeWire(args));
  });
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};

export async function runLoad(opts: {
  epochs: number;
  pollMs: number;
  longSteps: number;
}): Promise<LoadResult> {
  const t0 = performance.now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'selfemd-load-'));
  const renderer = path.join(work, 'renderer');
  fs.mkdirSync(renderer);
  fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html>');
  const service = StudioService.open({
    home: path.join(work, 'home'),
    transport: 'browser',
    version: 'load',
    seedDemos: false,
  });
  const server = await startStudioServer({ service, port: 0, rendererDir: renderer });
  try {
    // The 100 000-step run, first, on a quiet studio: its timing is the store's and the server's.
    const long = service.store.createRun({
      kind: 'pretrain',
      name: 'long',
      method: 'byol',
      backbone: 'resnet18',
      config: {},
      totalSteps: opts.longSteps,
    });
    const keys = ['loss/total', 'loss/byol', 'loss/emd', 'opt/lr', 'opt/momentum', 'time/step'];
    const spikeStep = Math.floor(opts.longSteps * 0.61);
    for (let from = 1; from <= opts.longSteps; from += 10_000) {
      const points = [];
      for (let step = from; step < Math.min(from + 10_000, opts.longSteps + 1); step++)
        for (const key of keys)
          points.push({
            runId: long.id,
            key,
            step,
            value: key === 'loss/total' && step === spikeStep ? 1e6 : 1 / Math.sqrt(step) + (step % 7) * 1e-3,
            wallTime: 1_700_000_000_000 + step,
          });
      service.store.appendMetrics(points);
    }
    const loadMs: number[] = [];
    let series: MetricSeries[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await post(server, 'metrics.get', { runId: long.id, maxPoints: CHART_MAX_POINTS });
      loadMs.push(r.ms);
      series = (r.body as { ok: true; value: MetricSeries[] }).value;
    }
    const total = series.find((s) => s.key === 'loss/total')!;
    const longRun = {
      rows: opts.longSteps * keys.length,
      loadMs,
      pointsPerSeries: Math.max(...series.map((s) => s.points.length)),
      keptSpike: total.points.some((p) => p.step === spikeStep && p.value === 1e6),
      keptEnds: total.points[0]?.step === 1 && total.points.at(-1)?.step === opts.longSteps,
    };

    // Four trainings at once, polled.
    const epochs = (c: { optim: object }) => ({ ...c, optim: { ...c.optim, epochs: opts.epochs } });
    const started = [
      service.manager.startPretrain(epochs(TINY_PRETRAIN), { name: 'pretrain 1' }),
      service.manager.startPretrain({ ...epochs(TINY_PRETRAIN), method: 'byol' }, { name: 'pretrain 2' }),
      service.manager.startPretrain({ ...epochs(TINY_PRETRAIN), seed: 3 }, { name: 'pretrain 3' }),
      service.manager.startFinetune(epochs(TINY_FINETUNE), {
        name: 'fine-tune',
        totalSteps: 2 * opts.epochs,
      }),
    ];
    const latencies: number[] = [];
    let training = true;
    const done = Promise.all(started.map((r) => service.manager.wait(r.id))).then(() => (training = false));
    while (training) {
      const tick = performance.now();
      latencies.push((await post(server, 'runs.list', {})).ms);
      for (const r of started)
        latencies.push((await post(server, 'metrics.get', { runId: r.id, maxPoints: CHART_MAX_POINTS })).ms);
      await new Promise((r) => setTimeout(r, Math.max(0, opts.pollMs - (performance.now() - tick))));
    }
    await done;
    const runs = started.map((r) => {
      const run = service.store.getRun(r.id);
      const steps = service.store.getMetrics(r.id, ['loss/total'])[0]?.points.map((p) => p.step) ?? [];
      return {
        name: run.name,
        status: run.status,
        steps: new Set(steps).size,
        totalSteps: run.totalSteps ?? -1,
        duplicated: steps.length - new Set(steps).size,
      };
    });
    return {
      calls: latencies.length,
      latencyMs: {
        p50: quantile(latencies, 0.5),
        p99: quantile(latencies, 0.99),
        max: Math.max(...latencies),
      },
      runs,
      longRun,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await server.close();
    await service.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
