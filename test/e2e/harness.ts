/**
 * What the end-to-end tests drive: the real browser-mode server as a child process (the same entry as
 * `npm run serve`), Debian's chromium through playwright-core, and screenshots in test-artifacts/.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const repo = path.resolve(__dirname, '../..');
export const artifacts = path.join(repo, 'test-artifacts', 'e2e');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

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

export function startServer(home: string): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(repo, 'src-main', 'server', 'main.ts'), '--port', '0'],
    {
      cwd: repo,
      env: { ...process.env, SELFEMD_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
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
  if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM} (set CHROMIUM_PATH)`);
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
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
