/**
 * What the end-to-end tests drive: the real browser-mode server as a child process (the same entry as
 * `npm run serve`), a Chromium found on this machine through playwright-core, and screenshots in
 * test-artifacts/.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { skipUnlessTool } from '../optional-tool';

export const repo = path.resolve(__dirname, '../..');
export const artifacts = path.join(repo, 'test-artifacts', 'e2e');

const BROWSER_COMMANDS = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Browsers `npx playwright install chromium` left in its cache (newest build first). */
function playwrightCacheBrowsers(env: NodeJS.ProcessEnv): string[] {
  const cache = env.PLAYWRIGHT_BROWSERS_PATH || path.join(os.homedir(), '.cache', 'ms-playwright');
  let builds: string[];
  try {
    builds = readdirSync(cache).filter((d) => /^chromium(_headless_shell)?-\d+$/.test(d));
  } catch {
    return [];
  }
  const build = (d: string) => Number(/(\d+)$/.exec(d)![1]);
  return builds
    .sort((a, b) => build(b) - build(a))
    .flatMap((d) => [
      path.join(cache, d, 'chrome-linux64', 'chrome'),
      path.join(cache, d, 'chrome-linux', 'chrome'),
      path.join(cache, d, 'chrome-linux', 'headless_shell'),
      path.join(cache, d, 'chrome-headless-shell-linux64', 'chrome-headless-shell'),
    ]);
}

/**
 * The browser the e2e tests drive: $CHROMIUM_PATH if set (it must then exist), else chromium,
 * chromium-browser or google-chrome on PATH, else Playwright's own download. `missing` says where
 * we looked when none is there.
 */
export function findBrowser(env: NodeJS.ProcessEnv = process.env): { path: string } | { missing: string } {
  if (env.CHROMIUM_PATH)
    return executable(env.CHROMIUM_PATH)
      ? { path: env.CHROMIUM_PATH }
      : { missing: `CHROMIUM_PATH=${env.CHROMIUM_PATH} is not an executable file` };
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const cmd of BROWSER_COMMANDS)
    for (const dir of dirs) if (executable(path.join(dir, cmd))) return { path: path.join(dir, cmd) };
  const cached = playwrightCacheBrowsers(env).find(executable);
  if (cached) return { path: cached };
  return {
    missing: `looked at $CHROMIUM_PATH, ${BROWSER_COMMANDS.join(', ')} on PATH and Playwright's cache`,
  };
}

/**
 * For an e2e file: the browser's path, or '' after printing one line saying what to install (the
 * file then skips). Under CI=true a missing browser throws instead.
 */
export function e2eBrowser(file: string): string {
  const found = findBrowser();
  if ('path' in found) return found.path;
  skipUnlessTool({
    tool: 'a Chromium browser',
    tests: `browser end-to-end tests (${file})`,
    missing: found.missing,
    install: 'apt-get install chromium (or npx playwright install chromium, or set CHROMIUM_PATH)',
  });
  return '';
}

/** Builds dist/renderer when it is missing or older than its sources (the same check `npm start` makes). */
export function ensureRendererBuilt(): void {
  const r = spawnSync(process.execPath, [path.join(repo, 'scripts', 'renderer-build.mjs')], {
    cwd: repo,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`renderer build failed:\n${r.stdout}\n${r.stderr}`);
}

export interface ServerProcess {
  url: string;
  origin: string;
  token: string;
  child: ChildProcess;
  output: () => string;
  /** Signals the server and resolves with its exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Calls the API from the test process (with the token, as a script would). */
  call<T>(method: string, args?: unknown): Promise<T>;
}

/**
 * `ownGroup`: the server leads a process group of its own (its training processes join it), so a test
 * can signal the group as a terminal's Ctrl-C does: `process.kill(-child.pid, 'SIGINT')`.
 */
export function startServer(home: string, opts: { ownGroup?: boolean } = {}): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    // The built server (test/global-setup.ts builds it when a source is newer): what `npm run serve`
    // runs, and its training processes run the built engine worker; from the sources through tsx
    // each server start and each of its training processes cost ~1.5–2 CPU s more.
    [path.join(repo, 'dist', 'app', 'server.mjs'), '--port', '0'],
    {
      cwd: repo,
      env: { ...process.env, SELFEMD_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: opts.ownGroup ?? false,
    },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the server did not print its URL in 60 s:\n${out}`)),
      60_000,
    );
    const onData = () => {
      const m = /is at (http:\/\/127\.0\.0\.1:\d+)\/\?token=([A-Za-z0-9_-]+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      const [, origin, token] = m as unknown as [string, string, string];
      resolve({
        url: `${origin}/?token=${token}`,
        origin,
        token,
        child,
        output: () => out,
        stop: (signal = 'SIGTERM') => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
        async call<T>(method: string, args: unknown = {}) {
          const res = await fetch(`${origin}/api/call/${method}`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
            body: JSON.stringify(args),
          });
          const body = (await res.json()) as { ok: boolean; value?: T; error?: { message: string } };
          if (!body.ok) throw new Error(`${method}: ${body.error?.message}`);
          return body.value as T;
        },
      });
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`the server exited (${code}) before printing its URL:\n${out}`)),
    );
  });
}

/** One headless chromium with a fresh profile folder (`userDataDir`, created empty by the caller). */
export async function launchBrowser(userDataDir: string): Promise<BrowserContext> {
  const found = findBrowser();
  if (!('path' in found)) throw new Error(`no Chromium browser: ${found.missing}`);
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: found.path,
    headless: true,
    viewport: { width: 1440, height: 900 },
    colorScheme: 'dark',
    acceptDownloads: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(artifacts, { recursive: true });
  const file = path.join(artifacts, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}
