/**
 * The desktop app's GPU host: a plain Node runtime to run webgpu jobs' engine workers in, since Dawn's
 * dawn.node cannot run inside Electron's processes (docs/architecture.md, "GPU backends"). The app
 * does not ship a runtime: it uses the one named by SELFEMD_NODE, else the first `node` on PATH,
 * provided it is Node ≥ 20 (the engine's minimum, package.json `engines`). Without one, webgpu is
 * unavailable in the app and the reason (what to install or set) reaches the backend picker and the
 * run's notes.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const MIN_NODE_MAJOR = 20;

export type GpuHost = { node: string; version: string } | { reason: string };

export interface GpuHostLookup {
  env?: Record<string, string | undefined>;
  platform?: NodeJS.Platform;
  /** The runtime's version (`process.versions.node`), or undefined when it does not run. */
  versionOf?: (file: string) => string | undefined;
  isFile?: (file: string) => boolean;
}

function runVersion(file: string): string | undefined {
  try {
    return execFileSync(file, ['-p', 'process.versions.node'], {
      encoding: 'utf8',
      timeout: 10_000,
      // A Node that is Electron's binary in disguise would run as Electron without this.
      env: { PATH: process.env.PATH ?? '', ELECTRON_RUN_AS_NODE: '' },
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Looks the runtime up (SELFEMD_NODE, else PATH) and checks its version. */
export function findGpuHost(lookup: GpuHostLookup = {}): GpuHost {
  const env = lookup.env ?? process.env;
  const platform = lookup.platform ?? process.platform;
  const versionOf = lookup.versionOf ?? runVersion;
  const exists = lookup.isFile ?? isFile;
  const check = (file: string, where: string): GpuHost => {
    const version = versionOf(file);
    if (!version) return { reason: `${where} ${file} does not run` };
    const major = Number(version.split('.')[0]);
    if (!(major >= MIN_NODE_MAJOR))
      return {
        reason: `${where} ${file} is Node ${version}; webgpu needs Node ${MIN_NODE_MAJOR} or later (install it, or set SELFEMD_NODE)`,
      };
    return { node: file, version };
  };
  const configured = env.SELFEMD_NODE?.trim();
  if (configured) {
    if (!exists(configured)) return { reason: `SELFEMD_NODE: ${configured} is not a file` };
    return check(configured, 'SELFEMD_NODE:');
  }
  const exe = platform === 'win32' ? 'node.exe' : 'node';
  const dirs = (env.PATH ?? env.Path ?? '').split(platform === 'win32' ? ';' : ':').filter(Boolean);
  const onPath = dirs.map((d) => path.join(d, exe)).find(exists);
  if (!onPath)
    return {
      reason: `no Node.js on PATH for the GPU worker (dawn.node cannot run inside Electron): install Node ${MIN_NODE_MAJOR}+ or set SELFEMD_NODE to its path`,
    };
  return check(onPath, 'the Node.js on PATH,');
}
