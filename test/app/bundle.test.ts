/**
 * The built product (dist/app, from scripts/build-app.mjs), checked without an Electron binary: the
 * sandboxed preload needs nothing but `electron`; every bundle loads only Node built-ins and the
 * production packages (never tsx, vue, pinia or echarts, which are dev-only); the bundled engine worker
 * runs every job the studio sends it, under plain Node, which speaks the same protocol as
 * utilityProcess: a demo pretraining with the prefetch thread on (loader-worker.mjs must be found:
 * it was not, once), a fine-tune with its evaluation from that run, a transport plan and an export;
 * and the packaging config is valid for electron-builder and packs only built files.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { finetuneSizeOverrides, resolveFinetuneConfig } from '../../shared/config/finetune';
import { DEFAULT_PRETRAIN_CONFIG } from '../../shared/config/pretrain';
import type { ExportResult, TransportResult } from '../../shared/dto/tasks';
import { DEMO_CATEGORIES } from '../../src-main/engine/data/demo-scenes';
import { tinyConfig } from '../engine/train/tiny-config';
import { appDir as out, ensureAppBuilt, message, repo, runBuiltWorker } from './built-app';
import { removeTempDir, tempDir } from '../temp-dir';

function requires(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...new Set([...text.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]!))].sort();
}

/** Packages an ES module bundle imports (static and dynamic), relative chunks left out. */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const statements =
    /^\s*(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)"|^\s*import\s*"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/gm;
  const specs = [...text.matchAll(statements)].map((m) => (m[1] ?? m[2] ?? m[3])!);
  return [...new Set(specs.filter((s) => !s.startsWith('.')))].sort();
}

const builtin = (m: string) => m.startsWith('node:') || builtinModules.includes(m);
const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as {
  dependencies: object;
  optionalDependencies: object;
};
const production = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.optionalDependencies)];
const packageOf = (m: string) =>
  m
    .split('/')
    .slice(0, m.startsWith('@') ? 2 : 1)
    .join('/');

beforeAll(() => ensureAppBuilt(), 120_000);

describe('Electron bundles', () => {
  it('the sandboxed preload requires nothing but electron', () => {
    expect(requires(path.join(out, 'preload.cjs'))).toEqual(['electron']);
    const text = readFileSync(path.join(out, 'preload.cjs'), 'utf8');
    expect(text).toContain('exposeInMainWorld');
    // The page gets the transport, never ipcRenderer itself.
    expect(text).not.toMatch(/exposeInMainWorld\([^)]*ipcRenderer\s*[,)]/);
  });

  it('every bundle loads only built-ins and production packages, never dev-only ones', () => {
    const main = requires(path.join(out, 'main.cjs'));
    const worker = requires(path.join(out, 'engine-worker.cjs'));
    expect(main).toContain('electron');
    expect(main).toContain('better-sqlite3');
    expect(worker).not.toContain('electron');
    expect(worker).not.toContain('better-sqlite3');
    const esm = [
      ...['cli.mjs', 'server.mjs', 'loader-worker.mjs'].map((f) => path.join(out, f)),
      ...readdirSync(path.join(out, 'chunks'))
        .filter((f) => f.endsWith('.mjs'))
        .map((f) => path.join(out, 'chunks', f)),
    ];
    const packages = [...main, ...worker, ...esm.flatMap(imports)].filter((m) => !builtin(m));
    expect(packages.length).toBeGreaterThan(0);
    for (const m of packages) {
      if (m === 'electron') continue;
      expect(production, `${m} is loaded at run time`).toContain(packageOf(m));
      // Each resolves from the repository, as it will from the packaged app's node_modules.
      expect(() => createRequire(path.join(out, 'main.cjs')).resolve(m)).not.toThrow();
    }
    for (const dev of ['tsx', 'vue', 'pinia', 'echarts']) expect(production).not.toContain(dev);
  });

  it('the bundled engine worker reports a failed job in words', async () => {
    const runDir = tempDir('selfemd-bundle-');
    try {
      const run = await runBuiltWorker({
        kind: 'export',
        config: { ...DEFAULT_PRETRAIN_CONFIG, backend: 'cpu' },
        runDir,
        format: 'safetensors',
        outPath: path.join(runDir, 'x.safetensors'),
        metadata: {},
      });
      expect(run.code).toBe(1);
      expect(message(run, 'backend').info.choice).toBe('cpu');
      expect(message(run, 'failed').message).toMatch(/checkpoint/i);
    } finally {
      removeTempDir(runDir);
    }
  });

  it('electron-builder accepts the packaging config: AppImage + deb, dmg, nsis, natives unpacked, icons', async () => {
    const req = createRequire(path.join(repo, 'package.json'));
    interface BuilderConfig {
      directories: { buildResources: string };
      files: { filter: string[] }[];
      linux: { target: string[]; icon: string };
      mac: { target: string[]; icon: string };
      win: { target: string[]; icon: string };
      asarUnpack: string[];
      npmRebuild: boolean;
      extraMetadata: { main: string };
    }
    const { getConfig, validateConfiguration } = req('app-builder-lib/out/util/config/config') as {
      getConfig(dir: string, file: string, extra: null): Promise<BuilderConfig>;
      validateConfiguration(c: unknown, logger: unknown): Promise<void>;
    };
    const { DebugLogger } = req('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };
    const config = await getConfig(repo, path.join(repo, 'electron-builder.yml'), null);
    await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined();
    expect(config.linux.target).toEqual(['AppImage', 'deb']);
    expect(config.mac.target).toEqual(['dmg']);
    expect(config.win.target).toEqual(['nsis']);
    // Native modules, and what the GPU host's plain Node loads (it cannot read inside the asar).
    expect(config.asarUnpack).toEqual(
      expect.arrayContaining([
        '**/*.node',
        'dist/app/engine-worker.cjs',
        'dist/app/loader-worker.mjs',
        'dist/app/chunks/**',
        'node_modules/**',
      ]),
    );
    // main and preload stay inside the asar, under its integrity check.
    expect(
      config.asarUnpack.filter(
        (p) => p.startsWith('dist/app/') && !/engine-worker|loader-worker|chunks/.test(p),
      ),
    ).toEqual([]);
    expect(config.npmRebuild).toBe(true);
    expect(config.extraMetadata.main).toBe('dist/app/main.cjs');
    // The icons scripts/icons.mjs renders, from the build resources (which are never packed).
    expect(config.directories.buildResources).toBe('assets');
    expect(readdirSync(path.join(repo, config.linux.icon))).toContain('512x512.png');
    expect(readFileSync(path.join(repo, config.mac.icon)).toString('latin1', 0, 4)).toBe('icns');
    expect(readFileSync(path.join(repo, config.win.icon)).readUInt16LE(2)).toBe(1);
    // Built files only, and every exclusion after every inclusion (a later inclusion would undo it).
    const files = config.files.flatMap((f) => f.filter);
    const included = files.filter((f) => !f.startsWith('!'));
    expect(included).toEqual(['dist/app/**', 'dist/renderer/**', 'package.json']);
    expect(files.slice(0, included.length)).toEqual(included);
    expect(files).toEqual(expect.arrayContaining(['!**/*.map', '!dist/app/build-manifest.json']));
    // Each build packs only its own platform's dawn.node (scripts/package-check.mjs checks the result).
    expect(files).toContain('!node_modules/webgpu/dist/!(${platform}-${arch}|${platform}-universal)/**');
    expect(JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')).main).toBe('dist/app/main.cjs');
  });
});

describe('the built engine worker runs every job the studio sends', () => {
  let dir: string;
  const runDir = () => path.join(dir, 'pretrain');
  // Two steps of a width-4 ResNet-18 Self-EMD at 64 px: two views and the scale view per batch.
  const pretrainConfig = tinyConfig({ backend: 'wasm', optim: { epochs: 1 } });

  beforeAll(() => {
    dir = tempDir('selfemd-built-worker-');
  });

  it('pretrains on the demo scenes with the prefetch thread rendering the batches', async () => {
    const run = await runBuiltWorker({
      kind: 'pretrain',
      runId: 'built-pretrain',
      config: pretrainConfig,
      runDir: runDir(),
      resume: false,
    });
    const finished = message(run, 'finished');
    expect(run.code).toBe(0);
    expect(finished.result).toMatchObject({ status: 'completed', step: 2, totalSteps: 2 });
    expect(message(run, 'dataset').images).toBe(8);
    const losses = run.messages.flatMap((m) =>
      m.type === 'metrics' ? m.points.filter((p) => p.key === 'loss/total').map((p) => p.value) : [],
    );
    expect(losses).toHaveLength(2);
    for (const l of losses) expect(Number.isFinite(l)).toBe(true);
    expect(message(run, 'checkpoint').step).toBe(2);
  });

  it('fine-tunes a RetinaNet from that run and evaluates it', async () => {
    const config = resolveFinetuneConfig({
      detector: 'retinanet',
      backend: 'wasm',
      init: { kind: 'pretrain-run', path: runDir() },
      backbone: { name: 'resnet18', baseWidth: 4 },
      data: { demoTrain: 4, demoVal: 2, demoSize: 64, ...finetuneSizeOverrides(64) },
      fpn: { channels: 8 },
      retinanet: { numConvs: 1 },
      optim: { epochs: 1, batchSize: 4, lr: 0.01 },
    });
    const run = await runBuiltWorker({
      kind: 'finetune',
      runId: 'built-finetune',
      config,
      runDir: path.join(dir, 'finetune'),
      resume: false,
    });
    expect(message(run, 'finished').result).toMatchObject({ status: 'completed', step: 1 });
    expect(run.code).toBe(0);
    const { evaluation } = message(run, 'evaluation');
    // The 12 COCO numbers (AP, AP50, AP75, APs/m/l, AR…), each in [0, 1] (or -1 where no box of a size exists).
    expect(evaluation.stats).toHaveLength(12);
    for (const v of evaluation.stats) expect(v === -1 || (v >= 0 && v <= 1)).toBe(true);
    // Every demo class is evaluated against the val split's boxes.
    const classes = Object.values(evaluation.perCategory);
    expect(classes.map((c) => c.name).sort()).toEqual(DEMO_CATEGORIES.map((c) => c.name).sort());
    expect(classes.reduce((n, c) => n + c.numGt, 0)).toBeGreaterThan(0);
  });

  it('computes a transport plan between two crops', async () => {
    const run = await runBuiltWorker({
      kind: 'transport',
      config: pretrainConfig,
      runDir: runDir(),
      image: { demoIndex: 1 },
      seed: 3,
    });
    const r = message(run, 'result').result as TransportResult;
    const [h1, w1] = r.grid1;
    const [h2, w2] = r.grid2;
    expect(r.plan).toHaveLength(h1 * w1 * h2 * w2);
    // A transport plan's masses are non-negative and sum to 1 (up to Sinkhorn's tolerance).
    expect(Math.min(...r.plan)).toBeGreaterThanOrEqual(0);
    expect(r.plan.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 2);
    expect(r.checkpointStep).toBe(2);
    for (const crop of r.crops) expect(crop).toMatch(/^data:image\/png;base64,/);
  });

  it('exports the backbone as safetensors', async () => {
    const outPath = path.join(dir, 'backbone.safetensors');
    const run = await runBuiltWorker({
      kind: 'export',
      config: pretrainConfig,
      runDir: runDir(),
      format: 'safetensors',
      outPath,
      metadata: { run_id: 'built-pretrain' },
    });
    const r = message(run, 'result').result as ExportResult;
    expect(r).toMatchObject({ path: outPath, format: 'safetensors', checkpointStep: 2 });
    const file = readFileSync(outPath);
    expect(file.length).toBe(r.bytes);
    const headerLength = Number(file.readBigUInt64LE(0));
    const header = JSON.parse(file.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, unknown>;
    expect(header['conv1.weight']).toMatchObject({ dtype: 'F32', shape: [4, 3, 7, 7] });
    expect(header.__metadata__).toMatchObject({ run_id: 'built-pretrain' });
  });
});
