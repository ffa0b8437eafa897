/**
 * Browser mode against clients that never finish: a request whose body trickles in is answered 408
 * and its socket dropped once the request time is up, an over-long body is refused (413) as soon as it
 * passes the limit — without waiting for the rest — and the studio answers other clients meanwhile.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StudioService } from '../../src-main/jobs/studio-service';
import { startStudioServer, type StudioServer } from '../../src-main/server/studio-server';
import { tempHome } from './fixtures';

let home: ReturnType<typeof tempHome>;
let service: StudioService;
let server: StudioServer;

const TIMEOUT_MS = 1500;

beforeAll(async () => {
  home = tempHome('selfemd-slow-');
  const renderer = path.join(home.dir, 'renderer');
  mkdirSync(renderer, { recursive: true });
  writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>studio</title>');
  service = StudioService.open({ home: path.join(home.dir, 'home'), transport: 'browser', version: 'test' });
  server = await startStudioServer({
    service,
    rendererDir: renderer,
    maxBodyBytes: 1000,
    requestTimeoutMs: TIMEOUT_MS,
  });
});

afterAll(async () => {
  await server.close();
  service.close();
  home.cleanup();
});

/** Opens a raw socket, writes `head` (and later whatever the caller writes); resolves what came back at close. */
function rawClient(head: string): { socket: net.Socket; done: Promise<{ reply: string; ms: number }> } {
  const started = Date.now();
  const socket = net.connect(server.port, '127.0.0.1');
  socket.write(head);
  const done = new Promise<{ reply: string; ms: number }>((resolve) => {
    let reply = '';
    socket.on('data', (d: Buffer) => (reply += d.toString('utf8')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ reply, ms: Date.now() - started }));
  });
  return { socket, done };
}

const headers = (contentLength: number) =>
  [
    'POST /api/call/system.info HTTP/1.1',
    `Host: 127.0.0.1:${server.port}`,
    `Authorization: Bearer ${server.token}`,
    'Content-Type: application/json',
    `Content-Length: ${contentLength}`,
    '',
    '',
  ].join('\r\n');

async function info(): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${server.port}/api/call/system.info`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' },
    body: '{}',
  });
  return res.status;
}

describe('browser mode and clients that never finish', () => {
  it('answers a trickling body 408 and drops it, while answering others meanwhile', async () => {
    const slow = rawClient(headers(100) + '{"a');
    const drip = setInterval(() => slow.socket.write(' '), 200);
    try {
      expect(await info()).toBe(200);
      const { reply, ms } = await slow.done;
      expect(reply).toMatch(/^HTTP\/1\.1 408/);
      expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
      expect(ms).toBeLessThan(TIMEOUT_MS * 6);
    } finally {
      clearInterval(drip);
    }
    expect(await info()).toBe(200);
  }, 20_000);

  it('refuses an over-long body at once (declared or streamed) and closes the connection', async () => {
    // Declared: 10 MB announced, 64 kB sent, the rest never comes.
    const declared = rawClient(headers(10_000_000) + 'x'.repeat(65_536));
    const first = await declared.done;
    expect(first.reply).toMatch(/^HTTP\/1\.1 413/);
    expect(first.reply).toContain('larger than 1000 bytes');
    expect(first.ms).toBeLessThan(TIMEOUT_MS);

    // Streamed: chunked, with no length, past the limit and never ended.
    const chunked = rawClient(
      headers(0).replace('Content-Length: 0', 'Transfer-Encoding: chunked') +
        `800\r\n${'y'.repeat(0x800)}\r\n`,
    );
    const second = await chunked.done;
    expect(second.reply).toMatch(/^HTTP\/1\.1 413/);
    expect(second.ms).toBeLessThan(TIMEOUT_MS);
    expect(await info()).toBe(200);
  }, 20_000);
});
