/**
 * Browser mode as `npm run serve` runs it: the built server (dist/app/server.mjs) under plain Node
 * serves the studio behind its token, and the page's favicon links resolve to the app icon.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appDir, ensureAppBuilt, repo } from './built-app';
import { removeTempDir, tempDir } from '../temp-dir';

let home: string;
let server: ChildProcess;
let exited: Promise<number | null>;
let origin: string;
let cookie: string;

beforeAll(async () => {
  ensureAppBuilt();
  home = tempDir('selfemd-built-server-');
  server = spawn(process.execPath, [path.join(appDir, 'server.mjs'), '--port', '0', '--home', home], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  exited = new Promise((resolve) => server.once('exit', (code) => resolve(code)));
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed in 60 s:\n${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /is at (http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    server.stdout!.on('data', onData);
    server.stderr!.on('data', onData);
  });
  origin = new URL(url).origin;
  const login = await fetch(url, { redirect: 'manual' });
  expect(login.status).toBe(302);
  cookie = login.headers.get('set-cookie')!.split(';')[0]!;
}, 120_000);

afterAll(async () => {
  if (server.exitCode === null) server.kill('SIGTERM');
  await exited;
  removeTempDir(home);
});

const get = (p: string) => fetch(`${origin}${p}`, { headers: { Cookie: cookie } });

describe('the built browser-mode server', () => {
  it('serves the studio page, whose favicons are the app icon', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<title>Self-EMD Studio</title>');
    const links = [...html.matchAll(/<link rel="icon" type="([^"]+)"[^>]*href="\.([^"]+)"/g)];
    expect(links.map((l) => l[1])).toEqual(['image/svg+xml', 'image/png']);
    const [svg, png] = await Promise.all(links.map((l) => get(l[2]!)));
    expect(svg!.headers.get('content-type')).toBe('image/svg+xml');
    expect(await svg!.text()).toBe(readFileSync(path.join(repo, 'assets', 'icon.svg'), 'utf8'));
    expect(png!.headers.get('content-type')).toBe('image/png');
    const pngBytes = Buffer.from(await png!.arrayBuffer());
    expect(pngBytes.equals(readFileSync(path.join(repo, 'assets', 'icons', '32x32.png')))).toBe(true);
  });

  it('stops cleanly on SIGTERM', async () => {
    server.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
