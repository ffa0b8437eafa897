/**
 * `--gpu NAME` and `--gpu-power low|high` on pretrain, finetune and info: checked with one-line
 * errors, and handed to the run's process as SELFEMD_GPU / SELFEMD_GPU_POWER, which the engine's
 * backend selection reads. A run asking for an adapter no GPU matches fails naming it and the
 * adapters there are (Dawn's list): the flag reached the training process. `info --backend webgpu`
 * names the adapter and its limits.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { MachineDescription } from '../../shared/config/run-defaults';
import type { RunRecord } from '../../shared/dto';
import { gpuEnv } from '../../src-main/cli/args';
import { finetuneOverrides } from '../../src-main/cli/commands/finetune';
import { pretrainOverrides } from '../../src-main/cli/commands/pretrain';
import { ensureAppBuilt } from '../app/built-app';
import { runSelfemd } from './run-selfemd';
import { tempDir } from '../temp-dir';

const WASM: MachineDescription = { backends: ['auto', 'wasm', 'cpu'], cpus: 2 };
const home = tempDir('selfemd-gpu-flags-');
// Built first: a stale build would say so on stderr before the command's own one line.
beforeAll(() => ensureAppBuilt(), 120_000);

/** A pretraining asking webgpu for an adapter no GPU has, at the smallest size. */
const NO_SUCH_GPU = [
  '--gpu',
  'NoSuchGPU',
  '--gpu-power',
  'low',
  '--demo-images',
  '2',
  '--batch',
  '2',
  '--epochs',
  '1',
];

describe('--gpu and --gpu-power', () => {
  it('become the run process’s SELFEMD_GPU and SELFEMD_GPU_POWER (low|high, or Dawn’s names)', () => {
    expect(pretrainOverrides(['--gpu', 'NVIDIA', '--gpu-power', 'low'], WASM).env).toEqual({
      SELFEMD_GPU: 'NVIDIA',
      SELFEMD_GPU_POWER: 'low-power',
    });
    expect(pretrainOverrides([], WASM).env).toEqual({});
    const plan = finetuneOverrides(
      ['--gpu-power', 'high-performance', '--gpu', 'Radeon'],
      home,
      undefined,
      WASM,
    );
    expect(plan.env).toEqual({ SELFEMD_GPU: 'Radeon', SELFEMD_GPU_POWER: 'high-performance' });
    expect(gpuEnv('pretrain', { 'gpu-power': 'high' })).toEqual({ SELFEMD_GPU_POWER: 'high-performance' });
  });

  it('bad values: one line naming the flag, exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['pretrain', '--gpu-power', 'fast'],
        /^selfemd pretrain: --gpu-power must be low or high \(low-power, high-performance\), got "fast"$/,
      ],
      [['finetune', '--gpu', ' '], /^selfemd finetune: --gpu needs part of an adapter's name$/],
      [['info', '--gpu-power', 'max'], /^selfemd info: --gpu-power must be low or high/],
    ];
    const results = await Promise.all(cases.map(([args]) => runSelfemd(home, args)));
    for (const [i, [args, message]] of cases.entries()) {
      expect(results[i]!.code, args.join(' ')).toBe(2);
      expect(results[i]!.err.trim()).toMatch(message);
    }
  });

  it('reach the training process: an adapter name no GPU has fails the run, naming it', async () => {
    const r = await runSelfemd(home, ['pretrain', '--backend', 'webgpu', ...NO_SUCH_GPU]);
    expect(r.code).not.toBe(0);
    if (/no Vulkan loader/.test(r.err) && process.env.CI !== 'true') {
      console.warn(`gpu-flags.test.ts: the --gpu check skipped, no Vulkan loader here: ${r.err.trim()}`);
      return;
    }
    expect(r.err).toContain("webgpu: no adapter matches --gpu 'NoSuchGPU'");
  }, 120_000);

  it("the run's record keeps the GPU asked for and what it trained on; runs show prints them", async () => {
    // auto tries webgpu with the flags (no adapter has that name) and trains on what comes next.
    const r = await runSelfemd(home, [
      'pretrain',
      '--backend',
      'auto',
      ...NO_SUCH_GPU,
      '--width',
      '4',
      '--size',
      '64',
      '--epochs',
      '1',
      '--name',
      'gpu-asked',
      '--json',
    ]);
    expect(r.code, r.err).toBe(0);
    const { run } = JSON.parse(r.out) as { run: RunRecord };
    expect(run.backend).toMatchObject({
      requested: 'auto',
      gpuRequest: { name: 'NoSuchGPU', power: 'low-power' },
    });
    expect(run.backend!.name).not.toBe('webgpu');
    expect(run.backend!.notes!.some((n) => n.startsWith('webgpu: '))).toBe(true);
    const shown = await runSelfemd(home, ['runs', 'show', 'gpu-asked']);
    expect(shown.code, shown.err).toBe(0);
    expect(shown.out).toContain(`backend: ${run.backend!.name} (TF.js `);
    expect(shown.out).toMatch(/, asked for auto$/m);
    expect(shown.out).toMatch(/^GPU asked for: --gpu "NoSuchGPU", low-power$/m);
    expect(shown.out).toMatch(/^note: webgpu: /m);
    const bad = await runSelfemd(home, ['runs', 'show']);
    expect(bad.code).toBe(2);
    expect(bad.err.trim()).toMatch(/^selfemd runs show: which run\?/);
  }, 300_000);

  it('selfemd info --backend webgpu names the adapter (fallback or not) and its limits', async () => {
    const r = await runSelfemd(home, ['info', '--backend', 'webgpu', '--gpu-power', 'low']);
    if (r.code !== 0 && process.env.CI !== 'true') {
      console.warn(`gpu-flags.test.ts: info --backend webgpu skipped, no adapter: ${r.err.trim()}`);
      return;
    }
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^backend: webgpu \(TF\.js 'webgpu' /m);
    expect(r.out).toMatch(/^GPU adapter: \S+ \S+.*/m);
    expect(r.out).toMatch(/^GPU limits: max buffer \d+ MiB, max storage binding \d+ MiB$/m);
    const json = await runSelfemd(home, ['info', '--backend', 'webgpu', '--json']);
    const { backend } = JSON.parse(json.out) as { backend: { gpu: { fallback: boolean; vendor: string } } };
    expect(r.out).toContain(backend.gpu.vendor);
    // A fallback adapter says so on the adapter line.
    expect(/fallback adapter/.test(r.out)).toBe(backend.gpu.fallback);
  }, 120_000);
});
