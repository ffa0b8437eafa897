/** The `selfemd` command as a user runs it: one-line errors, and a tiny run from pretrain to export. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src-main/engine/export/safetensors';
import { ensureAppBuilt } from '../app/built-app';
import { runSelfemd } from './run-selfemd';
import { tempDir } from '../temp-dir';

let home: string;
const selfemd = (...args: string[]) => runSelfemd(home, args);

beforeAll(() => {
  home = tempDir('selfemd-cli-');
  // Built first: a stale build would say so on stderr before the command's own one line.
  ensureAppBuilt();
}, 120_000);

describe('selfemd', () => {
  it('bad arguments: one line, non-zero exit', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /^selfemd: unknown command "frobnicate"/],
      [['pretrain', '--epochs', 'abc'], /^selfemd pretrain: --epochs must be a number, got "abc"$/],
      [
        ['pretrain', '--method', 'mocov2'],
        /^selfemd pretrain: invalid config: method: must be one of byol, self-emd, moco-v2, simclr, got "mocov2"$/,
      ],
      [['pretrain', '--bogus'], /^selfemd pretrain: Unknown option '--bogus'/],
      [
        ['pretrain', '--data', '/no/such/folder'],
        /^selfemd pretrain: --data \/no\/such\/folder: no such folder$/,
      ],
      [['resume'], /^selfemd resume: which run\?/],
      [['export', 'nope', '--out', 'x'], /^selfemd export: no run with id, id prefix or name "nope"/],
    ];
    const results = await Promise.all(cases.map(([args]) => selfemd(...args)));
    for (const [i, [args, message]] of cases.entries()) {
      const r = results[i];
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err.trim()).toMatch(message);
    }
  });

  it('info names the backend that runs', async () => {
    const r = await selfemd('info', '--backend', 'wasm', '--json');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.out);
    expect(info.backend.choice).toBe('wasm');
    expect(info.backend.version).toBe('4.22.0');
    expect(info.backbones).toEqual(['mobilenet_v2', 'resnet18', 'resnet34', 'resnet50', 'resnet101']);
  });

  it('pretrains, lists, exports and inspects a tiny run', async () => {
    const config = path.join(home, 'tiny.json');
    fs.writeFileSync(
      config,
      JSON.stringify({
        byol: { projectorHidden: 32, projectionDim: 16, predictorHidden: 32 },
        emd: { scaleViewSize: 32 },
        optim: { warmupEpochs: 0.5 },
      }),
    );
    const r = await selfemd(
      'pretrain',
      '--config',
      config,
      '--backend',
      'wasm',
      '--width',
      '4',
      '--size',
      '64',
      '--demo-images',
      '8',
      '--batch',
      '4',
      '--epochs',
      '1',
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    const summary = JSON.parse(r.out);
    expect(summary.run.status).toBe('completed');
    expect(summary.run.step).toBe(2);
    expect(Number.isFinite(summary.lastLoss)).toBe(true);
    const id = summary.run.id as string;

    const runs = JSON.parse((await selfemd('runs', '--json')).out);
    expect(runs.map((x: { id: string }) => x.id)).toContain(id);

    const out = path.join(home, 'exports', 'backbone.safetensors');
    const ex = await selfemd('export', id, '--format', 'safetensors', '--out', out);
    expect(ex.code, ex.err).toBe(0);
    expect(ex.out).toMatch(/exported the backbone/);
    expect(ex.out).toMatch(/^PyTorch: resnet18 at width 4 is built by no torchvision constructor/m);

    const tr = await selfemd(
      'transport',
      id,
      '--image',
      'demo:3',
      '--out',
      path.join(home, 'plan'),
      '--grid',
      '3',
    );
    expect(tr.code, tr.err).toBe(0);
    const plan = JSON.parse(fs.readFileSync(path.join(home, 'plan.json'), 'utf8'));
    expect(plan.grid1).toEqual([2, 2]); // a 64 px crop gives a 2×2 res5 map: the 3×3 grid is clamped to it
    const mass = plan.plan.reduce((a: number, b: number) => a + b, 0);
    expect(mass).toBeCloseTo(1, 2);
    expect(fs.statSync(path.join(home, 'plan.png')).size).toBeGreaterThan(1000);
    const st = await readSafetensors(out);
    expect(st.metadata.arch).toBe('resnet18');
    expect(st.metadata.run_id).toBe(id);
    expect([...st.tensors.keys()]).toContain('layer4.1.bn2.running_var');
  });
});
