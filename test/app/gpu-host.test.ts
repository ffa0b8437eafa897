/**
 * The desktop app's choice of process per job, without an Electron binary: a fake utilityProcess
 * and a recording fork stand in for Electron and child_process. wasm/cpu/tfjs-node jobs get a
 * utilityProcess; webgpu jobs (explicit, or `auto` where the probe found a hardware adapter) a plain
 * Node process forked from the asar's unpacked copy; without a Node runtime a webgpu job goes to a
 * utilityProcess told why. And the lookup of that runtime: SELFEMD_NODE, else PATH, Node >= 20.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findGpuHost, type GpuHost } from '../../src-main/app/gpu-host';
import { appWorkerSpawner, unpackedPath, type UtilityProcessApi } from '../../src-main/app/utility-spawner';
import type { forkEngineWorker, WorkerHandle } from '../../src-main/jobs/worker-process';

interface Spawned {
  kind: 'utility' | 'node';
  file: string;
  env: Record<string, string | undefined>;
  execPath?: string;
}

/** The app's spawner on a fake utilityProcess and a recording fork; counts the Node runtime lookups. */
function setup(options: { host?: GpuHost; hardwareAdapter?: () => boolean } = {}) {
  const spawned: Spawned[] = [];
  let lookups = 0;
  const utilityProcess: UtilityProcessApi = {
    fork(modulePath, _args, o) {
      spawned.push({ kind: 'utility', file: modulePath, env: o.env });
      return {
        pid: 11,
        postMessage: () => undefined,
        on: () => undefined,
        once: () => undefined,
        kill: () => true,
      };
    },
  };
  const fork: typeof forkEngineWorker = (entry, o = {}) => {
    spawned.push({ kind: 'node', file: entry.file, env: o.env ?? {}, execPath: o.execPath });
    return { pid: 22 } as WorkerHandle;
  };
  const spawn = appWorkerSpawner({
    utilityProcess,
    entry: ENTRY,
    gpuHost: () => (lookups++, options.host ?? NODE),
    hardwareAdapter: options.hardwareAdapter ?? (() => false),
    fork,
  });
  return { spawned, spawn, lookups: () => lookups };
}

const ENTRY = path.join(
  '/opt',
  'Self-EMD Studio',
  'resources',
  'app.asar',
  'dist',
  'app',
  'engine-worker.cjs',
);
const UNPACKED = path.join(
  '/opt',
  'Self-EMD Studio',
  'resources',
  'app.asar.unpacked',
  'dist',
  'app',
  'engine-worker.cjs',
);
const NODE: GpuHost = { node: '/usr/bin/node', version: '20.19.0' };

describe('the app spawner chooses the process by the job’s backend', () => {
  it('wasm, cpu, tfjs-node and auto without a hardware adapter run in a utilityProcess', () => {
    const f = setup();
    for (const backend of ['wasm', 'cpu', 'tfjs-node', 'tfjs-node-gpu', 'auto', undefined] as const)
      f.spawn({ backend, env: { A: '1' } });
    expect(f.spawned.map((s) => s.kind)).toEqual(Array(6).fill('utility'));
    // Inside the asar, as Electron reads it; the job's env reaches the process.
    for (const s of f.spawned) {
      expect(s.file).toBe(ENTRY);
      expect(s.env.A).toBe('1');
      expect(s.env.SELFEMD_GPU_HOST_NOTE).toBeUndefined();
    }
    // Nothing asked for a GPU, so no Node runtime was looked for.
    expect(f.lookups()).toBe(0);
  });

  it('webgpu runs in a plain Node process, from the unpacked entry, with the job’s env', () => {
    const f = setup();
    f.spawn({ backend: 'webgpu', env: { SELFEMD_GPU: 'NVIDIA' } });
    f.spawn({ backend: 'webgpu' });
    expect(f.spawned).toEqual([
      { kind: 'node', file: UNPACKED, env: { SELFEMD_GPU: 'NVIDIA' }, execPath: '/usr/bin/node' },
      { kind: 'node', file: UNPACKED, env: {}, execPath: '/usr/bin/node' },
    ]);
    // Looked up once, then kept.
    expect(f.lookups()).toBe(1);
  });

  it('auto runs in the GPU host only where the probe found a hardware adapter', () => {
    let hardware = false;
    const f = setup({ hardwareAdapter: () => hardware });
    f.spawn({ backend: 'auto' });
    hardware = true;
    f.spawn({ backend: 'auto' });
    f.spawn({ backend: 'wasm' });
    expect(f.spawned.map((s) => s.kind)).toEqual(['utility', 'node', 'utility']);
  });

  it('without a Node runtime, a webgpu job goes to a utilityProcess told why (the engine refuses it there)', () => {
    const reason = 'no Node.js on PATH for the GPU worker';
    const f = setup({ host: { reason }, hardwareAdapter: () => true });
    f.spawn({ backend: 'webgpu' });
    f.spawn({ backend: 'auto' });
    expect(f.spawned.map((s) => [s.kind, s.env.SELFEMD_GPU_HOST_NOTE])).toEqual([
      ['utility', reason],
      ['utility', reason],
    ]);
  });

  it('maps a packed path to its unpacked copy, and leaves a development path alone', () => {
    expect(unpackedPath(ENTRY)).toBe(UNPACKED);
    expect(unpackedPath('C:\\Apps\\Studio\\resources\\app.asar\\dist\\app\\engine-worker.cjs')).toBe(
      'C:\\Apps\\Studio\\resources\\app.asar.unpacked\\dist\\app\\engine-worker.cjs',
    );
    const dev = '/home/me/studio/dist/app/engine-worker.cjs';
    expect(unpackedPath(dev)).toBe(dev);
  });
});

describe('the GPU host’s Node runtime', () => {
  const files = new Set(['/usr/local/bin/node', '/opt/node18/bin/node', '/custom/node']);
  const versions: Record<string, string> = {
    '/usr/local/bin/node': '20.19.0',
    '/opt/node18/bin/node': '18.20.4',
    '/custom/node': '22.1.0',
  };
  const lookup = (env: Record<string, string>) =>
    findGpuHost({ env, platform: 'linux', isFile: (f) => files.has(f), versionOf: (f) => versions[f] });

  it('takes the first node on PATH when it is Node >= 20', () => {
    expect(lookup({ PATH: '/usr/bin:/usr/local/bin:/opt/node18/bin' })).toEqual({
      node: '/usr/local/bin/node',
      version: '20.19.0',
    });
  });

  it('refuses an older Node, naming it and what to do', () => {
    const r = lookup({ PATH: '/opt/node18/bin:/usr/local/bin' });
    expect('reason' in r && r.reason).toMatch(
      /\/opt\/node18\/bin\/node is Node 18\.20\.4.*Node 20.*SELFEMD_NODE/,
    );
  });

  it('SELFEMD_NODE wins over PATH, and a wrong one is named', () => {
    expect(lookup({ SELFEMD_NODE: '/custom/node', PATH: '/usr/local/bin' })).toEqual({
      node: '/custom/node',
      version: '22.1.0',
    });
    const r = lookup({ SELFEMD_NODE: '/nowhere/node', PATH: '/usr/local/bin' });
    expect('reason' in r && r.reason).toBe('SELFEMD_NODE: /nowhere/node is not a file');
  });

  it('says what to install when there is no node at all', () => {
    const r = lookup({ PATH: '/usr/bin:/bin' });
    expect('reason' in r && r.reason).toMatch(/no Node\.js on PATH.*install Node 20\+ or set SELFEMD_NODE/);
  });

  it('finds this machine’s own Node by running it', () => {
    const dir = path.dirname(process.execPath);
    const host = findGpuHost({ env: { PATH: dir } });
    const version = execFileSync(process.execPath, ['-p', 'process.versions.node'], {
      encoding: 'utf8',
    }).trim();
    expect(host).toEqual({ node: path.join(dir, 'node'), version });
  });
});
