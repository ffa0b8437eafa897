/**
 * Browser mode's security: loopback only, the token on every request (header or the cookie the printed
 * link sets), loopback Host names only (no DNS rebinding), same-origin API and event socket, uploads
 * confined to their folder; and the API itself over HTTP (envelopes, status codes, NaN intact).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { decodeWire, encodeWire } from '../../shared/api/wire';
import { StudioService } from '../../src-main/jobs/studio-service';
import { startStudioServer, type StudioServer } from '../../src-main/server/studio-server';
import { tempHome } from './fixtures';

let home: ReturnType<typeof tempHome>;
let service: StudioService;
let server: StudioServer;

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(
  pathName: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer; host?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: server.port,
        path: pathName,
        method: opts.method ?? 'GET',
        headers: { ...(opts.host ? { Host: opts.host } : {}), ...opts.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

const auth = () => ({ Authorization: `Bearer ${server.token}` });
const call = (method: string, args: unknown, headers: Record<string, string> = auth()) =>
  request(`/api/call/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: encodeWire(args),
  });

beforeAll(async () => {
  home = tempHome('selfemd-server-');
  const renderer = path.join(home.dir, 'renderer');
  mkdirSync(path.join(renderer, 'assets'), { recursive: true });
  writeFileSync(
    path.join(renderer, 'index.html'),
    '<!doctype html><title>studio</title><script type="module" src="./assets/app.js"></script>',
  );
  writeFileSync(path.join(renderer, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(path.join(home.dir, 'secret.txt'), 'outside the renderer');
  service = StudioService.open({
    home: path.join(home.dir, 'home'),
    transport: 'browser',
    version: 'test',
    uploads: true,
    seedDemos: false,
  });
  server = await startStudioServer({ service, port: 0, rendererDir: renderer });
});
afterAll(async () => {
  await server.close();
  await service.close();
  home.cleanup();
});

describe('browser mode', () => {
  it('listens on the loopback interface only', async () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.url).toMatch(
      new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/\\?token=[A-Za-z0-9_-]{32}$`),
    );
    const external = Object.values(os.networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal);
    if (!external) {
      console.log('no non-loopback IPv4 interface here: only the bound address was checked');
      return;
    }
    const outcome = await new Promise<string>((resolve) => {
      const s = net.connect({ host: external.address, port: server.port });
      s.once('connect', () => {
        s.destroy();
        resolve('connected');
      });
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(outcome).toBe('ECONNREFUSED');
  });

  it('refuses every request without the token, and one with a wrong token', async () => {
    const noToken = await call('datasets.list', {}, {});
    expect(noToken.status).toBe(401);
    expect((decodeWire(noToken.body) as { error: { code: string } }).error.code).toBe('unauthorized');
    expect((await call('datasets.list', {}, { Authorization: 'Bearer wrong-token' })).status).toBe(401);
    expect((await call('datasets.list', {}, { Authorization: `Bearer ${server.token}x` })).status).toBe(401);
    const page = await request('/');
    expect(page.status).toBe(401);
    expect(page.body).not.toContain('<script');
    expect((await request('/assets/app.js')).status).toBe(401);
    expect((await request(`/?token=${server.token.slice(0, -1)}A`)).status).toBe(401);
    const ok = await call('datasets.list', {});
    expect(ok.status).toBe(200);
    expect(decodeWire(ok.body)).toEqual({ ok: true, value: [] });
  });

  it('trades the printed link for an HttpOnly, SameSite cookie and serves the renderer with its CSP', async () => {
    const link = await request(`/?token=${server.token}`);
    expect(link.status).toBe(302);
    expect(link.headers.location).toBe('/');
    const cookie = String(link.headers['set-cookie']);
    expect(cookie).toContain(`selfemd_token_${server.port}=${server.token}`);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const jar = cookie.split(';')[0]!;
    const page = await request('/', { headers: { Cookie: jar } });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>studio</title>');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect((await request('/assets/app.js', { headers: { Cookie: jar } })).body).toBe('console.log(1)');
    // Paths cannot climb out of the renderer folder.
    const climb = await request('/../secret.txt', { headers: { Cookie: jar } });
    expect(climb.body).not.toContain('outside the renderer');
    const encoded = await request('/%2e%2e/secret.txt', { headers: { Cookie: jar } });
    expect(encoded.body).not.toContain('outside the renderer');
    expect((await call('datasets.list', {}, { Cookie: jar })).status).toBe(200);
  });

  it('answers only to loopback host names and same-origin pages (DNS rebinding, CSRF)', async () => {
    const rebound = await request('/api/call/datasets.list', {
      method: 'POST',
      host: `evil.example:${server.port}`,
      headers: auth(),
      body: '{}',
    });
    expect(rebound.status).toBe(403);
    const crossSite = await call('datasets.list', {}, { ...auth(), Origin: 'http://evil.example' });
    expect(crossSite.status).toBe(401);
    const sameSite = await call(
      'datasets.list',
      {},
      { ...auth(), Origin: `http://127.0.0.1:${server.port}` },
    );
    expect(sameSite.status).toBe(200);
    expect((await request('/', { host: `localhost:${server.port}`, headers: auth() })).status).toBe(200);
  });

  it('maps API errors to status codes and keeps their per-field issues', async () => {
    const bad = await call('runs.get', { id: 7 });
    expect(bad.status).toBe(400);
    expect((decodeWire(bad.body) as { error: { issues: { path: string }[] } }).error.issues[0]!.path).toBe(
      'args.id',
    );
    expect((await call('runs.get', { id: 'nope' })).status).toBe(404);
    expect((await call('no.such.method', {})).status).toBe(400);
    const notJson = await request('/api/call/datasets.list', {
      method: 'POST',
      headers: auth(),
      body: '{"broken',
    });
    expect(notJson.status).toBe(400);
    expect(notJson.body).toContain('not valid JSON');
    // V8's parse error quotes the start of a body it cannot read; a body may carry a cluster's token
    const tokenBody = await request('/api/call/clusters.save', {
      method: 'POST',
      headers: auth(),
      body: '{"token":eyJhbGciOiJIUzI1NiJ9.c2VjcmV0}',
    });
    expect(tokenBody.status).toBe(400);
    expect(tokenBody.body).toContain('not valid JSON');
    expect(tokenBody.body).not.toContain('eyJ');
    const huge = await request('/api/call/datasets.list', {
      method: 'POST',
      headers: auth(),
      body: Buffer.alloc(2_000_001, 32),
    });
    expect(huge.status).toBe(413);
    expect((await request('/api/nothing', { headers: auth() })).status).toBe(404);
  });

  it('carries the fine-tune methods like every other: 400 with the fields named, 404 for an unknown dataset', async () => {
    const bad = await call('runs.startFinetune', {
      init: 'random',
      trainDatasetId: 1,
      valDatasetId: 'two',
      config: {},
    });
    expect(bad.status).toBe(400);
    expect(
      (decodeWire(bad.body) as { error: { issues: { path: string }[] } }).error.issues.map((i) => i.path),
    ).toEqual(['args.valDatasetId']);
    const unknown = await call('runs.validateFinetune', { init: 'random', trainDatasetId: 4242, config: {} });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toContain('the train dataset (id 4242) does not exist');
    const numbers = await call('runs.validateFinetune', {
      init: 'random',
      config: { optim: { lr: 'fast' } },
    });
    expect(numbers.status).toBe(200);
    expect((decodeWire(numbers.body) as { value: { issues: { path: string }[] } }).value.issues).toEqual([
      { path: 'config.optim.lr', message: 'must be a finite number, got "fast"' },
    ]);
  });

  it('keeps NaN metric values intact over the wire', () => {
    const v = decodeWire(
      encodeWire({
        points: [{ value: Number.NaN }, { value: Infinity }, { value: -Infinity }, { value: 1.5 }],
        name: 'NaN',
      }),
    ) as {
      points: { value: number }[];
      name: string;
    };
    expect(Number.isNaN(v.points[0]!.value)).toBe(true);
    expect(v.points.slice(1).map((p) => p.value)).toEqual([Infinity, -Infinity, 1.5]);
    expect(v.name).toBe('NaN');
  });

  it('streams events over the socket only to authorised, same-origin clients', async () => {
    const url = `ws://127.0.0.1:${server.port}/api/events`;
    const refused = (headers: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url, { headers });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('error', () => undefined);
      });
    expect(await refused({})).toBe(401);
    expect(await refused({ ...auth(), Origin: 'http://evil.example' })).toBe(403);

    const ws = new WebSocket(url, { headers: auth() });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const received = new Promise<{ name: string; payload: { tables: string[] } }>((resolve) =>
      ws.on('message', (data) => {
        const e = decodeWire(String(data)) as { name: string; payload: { tables: string[] } };
        if (e.name === 'store.changed') resolve(e);
      }),
    );
    const added = await call('datasets.addDemo', { count: 3, split: 'val' });
    expect(added.status).toBe(200);
    const event = await received;
    expect(event.payload.tables).toContain('datasets');
    ws.close();
  });

  it('writes uploads inside their folder and refuses paths that leave it', async () => {
    const put = (p: string, body: string) => request(p, { method: 'PUT', headers: auth(), body });
    const ok = await put('/api/upload/drop-1/set/a%20b.txt', 'hello');
    expect(ok.status).toBe(200);
    const value = (decodeWire(ok.body) as { value: { dir: string; bytes: number } }).value;
    expect(value.bytes).toBe(5);
    expect(readFileSync(path.join(value.dir, 'set', 'a b.txt'), 'utf8')).toBe('hello');
    expect(value.dir.startsWith(path.join(service.home, 'uploads'))).toBe(true);
    expect((await put('/api/upload/drop-1/..%2F..%2Fevil.txt', 'x')).status).toBe(400);
    expect((await put('/api/upload/drop-1/a/../../evil.txt', 'x')).status).toBe(400);
    expect((await put('/api/upload/..%2Fx/file.txt', 'x')).status).toBe(400);
    expect((await request('/api/upload/drop-2/f.txt', { method: 'PUT', body: 'x' })).status).toBe(401);
  });
});
