/**
 * Browser mode: the built renderer and the studio API over HTTP (`POST /api/call/<method>`) and a
 * WebSocket of events (`/api/events`), on 127.0.0.1 only, every request gated by a random token.
 * The transport holds no behaviour: requests go to StudioService.handle, its events to every socket.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ApiErrorCode, ApiResponse } from '../../shared/api/errors';
import { decodeWire, encodeWire } from '../../shared/api/wire';
import type { StudioService } from '../jobs/studio-service';
import {
  createToken,
  hasValidToken,
  isLoopbackHost,
  isSameOrigin,
  isValidToken,
  sessionCookie,
  type AccessPolicy,
} from './access';
import { setSecurityHeaders } from './security-headers';
import { serveStatic } from './static-files';

export interface StudioServerOptions {
  service: StudioService;
  /** 0 picks a free port. */
  port?: number;
  /** The built renderer. */
  rendererDir: string;
  /** Fixed token (tests); random otherwise. */
  token?: string;
  /** Largest JSON request body (default 1 MB). */
  maxBodyBytes?: number;
  /**
   * Longest a client may take to send a whole request, headers and body (default 120 s): a client
   * that trickles its bytes is answered 408 and dropped instead of holding a socket for ever. It does
   * not limit the answer: a long import still answers when it is done.
   */
  requestTimeoutMs?: number;
}

export interface StudioServer {
  /** The link to open: it carries the token once and trades it for a cookie. */
  url: string;
  origin: string;
  token: string;
  port: number;
  host: string;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

const STATUS: Record<ApiErrorCode, number> = {
  invalid: 400,
  unauthorized: 401,
  'not-found': 404,
  conflict: 409,
  failed: 422,
  internal: 500,
  unavailable: 501,
};

function sendEnvelope(res: http.ServerResponse, body: ApiResponse<unknown>, statusOverride?: number): void {
  const status = statusOverride ?? (body.ok ? 200 : STATUS[body.error.code]);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(encodeWire(body));
}

function deny(res: http.ServerResponse, status: number, message: string, html: boolean): void {
  if (html) {
    res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(
      `<!doctype html><meta charset="utf-8"><title>Self-EMD Studio</title><body style="font:14px system-ui;margin:3em">` +
        `<h1 style="font-size:18px">Self-EMD Studio: access link needed</h1><p>${message}</p></body>`,
    );
    return;
  }
  sendEnvelope(res, { ok: false, error: { code: 'unauthorized', message } }, status);
}

/**
 * Why JSON.parse refused a body, without the snippet of the body V8 quotes in some of its messages
 * (`Unexpected token 'e', "{"token":eyJhbGciOi"... is not valid JSON`): a request may carry a
 * cluster's token, and no answer carries a token back.
 */
function jsonProblem(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.includes('"') ? 'unexpected text' : message;
}

/** The body as text, or null when it is larger than `limit` (the rest is drained, not kept). */
/**
 * The body as text, or null once it passes `limit`: reading stops there (the caller answers 413 and
 * the connection is closed), so an endless body costs neither memory nor a socket.
 */
async function readBody(req: http.IncomingMessage, limit: number): Promise<string | null> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const UPLOAD_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** `uploads/<id>/<relative path>` inside home, or null for anything that would escape it. */
function uploadTarget(home: string, id: string, rel: string): string | null {
  if (!UPLOAD_ID.test(id)) return null;
  const parts = rel.split('/').filter((p) => p !== '');
  if (
    parts.length === 0 ||
    parts.some((p) => p === '.' || p === '..' || p.includes('\\') || p.includes('\0'))
  )
    return null;
  const dir = path.join(home, 'uploads', id);
  const file = path.join(dir, ...parts);
  return file.startsWith(dir + path.sep) ? file : null;
}

export async function startStudioServer(options: StudioServerOptions): Promise<StudioServer> {
  const { service } = options;
  const token = options.token ?? createToken();
  const maxBody = options.maxBodyBytes ?? 1_000_000;
  const policy: AccessPolicy = { token, port: 0 };
  const sockets = new Set<WebSocket>();

  const requestTimeout = options.requestTimeoutMs ?? 120_000;
  const server = http.createServer(
    // Node checks for overdue requests on this interval; a fraction of the timeout keeps it prompt.
    {
      requestTimeout,
      headersTimeout: requestTimeout,
      connectionsCheckingInterval: Math.min(30_000, requestTimeout / 4),
    },
    (req, res) => {
      void route(req, res).catch((e: unknown) => {
        if (!res.headersSent)
          sendEnvelope(res, { ok: false, error: { code: 'internal', message: (e as Error).message } });
        else res.destroy();
      });
    },
  );

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    setSecurityHeaders(res);
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    const isApi = url.pathname.startsWith('/api/');
    if (!isLoopbackHost(req)) {
      deny(res, 403, 'This server answers only to 127.0.0.1 / localhost.', !isApi);
      return;
    }
    // The printed link: trade the token in the query for a cookie, and drop it from the address bar.
    const fromQuery = url.searchParams.get('token');
    if (!isApi && req.method === 'GET' && fromQuery !== null) {
      if (!isValidToken(fromQuery, policy)) {
        deny(
          res,
          401,
          'This link’s token is not valid for this server. Use the link printed when it started.',
          true,
        );
        return;
      }
      url.searchParams.delete('token');
      res.writeHead(302, { 'Set-Cookie': sessionCookie(policy), Location: url.pathname + url.search });
      res.end();
      return;
    }
    if (!hasValidToken(req, policy)) {
      deny(
        res,
        401,
        'Open the studio with the link printed by “npm run serve” (it carries the access token).',
        !isApi,
      );
      return;
    }
    if (!isApi) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405).end();
        return;
      }
      serveStatic(options.rendererDir, url.pathname, res);
      return;
    }
    if (!isSameOrigin(req)) {
      sendEnvelope(res, {
        ok: false,
        error: { code: 'unauthorized', message: 'cross-origin requests are refused' },
      });
      return;
    }
    if (url.pathname.startsWith('/api/call/') && req.method === 'POST') {
      const method = decodeURIComponent(url.pathname.slice('/api/call/'.length));
      let args: unknown;
      const text = await readBody(req, maxBody);
      if (text === null) {
        // The rest of the body is never read: close the connection after the answer.
        res.setHeader('Connection', 'close');
        sendEnvelope(
          res,
          {
            ok: false,
            error: { code: 'invalid', message: `the request body is larger than ${maxBody} bytes` },
          },
          413,
        );
        return;
      }
      try {
        args = text.trim() === '' ? {} : decodeWire(text);
      } catch (e) {
        sendEnvelope(res, {
          ok: false,
          error: { code: 'invalid', message: `the request body is not valid JSON (${jsonProblem(e)})` },
        });
        return;
      }
      sendEnvelope(res, await service.handle(method, args));
      return;
    }
    if (url.pathname.startsWith('/api/upload/') && req.method === 'PUT') {
      const [id = '', ...rest] = url.pathname.slice('/api/upload/'.length).split('/');
      let rel: string;
      try {
        rel = rest.map((p) => decodeURIComponent(p)).join('/');
      } catch {
        rel = '';
      }
      const file = uploadTarget(service.home, id, rel);
      if (!file) {
        sendEnvelope(res, {
          ok: false,
          error: { code: 'invalid', message: `bad upload path ${JSON.stringify(url.pathname)}` },
        });
        return;
      }
      fs.mkdirSync(path.dirname(file), { recursive: true });
      await pipeline(req, fs.createWriteStream(file));
      sendEnvelope(res, {
        ok: true,
        value: { dir: path.join(service.home, 'uploads', id), bytes: fs.statSync(file).size },
      });
      return;
    }
    sendEnvelope(res, {
      ok: false,
      error: { code: 'not-found', message: `no such endpoint: ${req.method} ${url.pathname}` },
    });
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    const refuse = (status: number, text: string) => {
      socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
    };
    if (url.pathname !== '/api/events') return refuse(404, 'Not Found');
    if (!isLoopbackHost(req) || !isSameOrigin(req)) return refuse(403, 'Forbidden');
    if (!hasValidToken(req, policy)) return refuse(401, 'Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('error', () => sockets.delete(ws));
      // The socket only listens; anything sent to it is ignored.
      ws.on('message', () => undefined);
    });
  });

  const unsubscribe = service.on((event) => {
    if (sockets.size === 0) return;
    const text = encodeWire(event);
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(text);
  });
  const ping = setInterval(() => {
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.ping();
  }, 30_000);
  ping.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  policy.port = address.port;
  const origin = `http://${HOST}:${address.port}`;
  return {
    url: `${origin}/?token=${token}`,
    origin,
    token,
    port: address.port,
    host: address.address,
    async close() {
      clearInterval(ping);
      unsubscribe();
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
