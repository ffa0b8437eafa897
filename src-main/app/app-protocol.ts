/**
 * `app://studio/…`: the built renderer as a privileged, standard, secure scheme (no file:// access
 * for the page), every response carrying the renderer's CSP.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { protocol } from 'electron';
import { RENDERER_CSP } from '../../shared/api/renderer-csp';
import { rendererFile } from './renderer-file';

export const APP_SCHEME = 'app';
export const APP_HOST = 'studio';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/** Must run before the app is ready. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  ]);
}

export function handleAppScheme(rendererDir: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    const headers = { 'Content-Security-Policy': RENDERER_CSP, 'X-Content-Type-Options': 'nosniff' };
    if (url.host !== APP_HOST || request.method !== 'GET')
      return new Response('not found', { status: 404, headers });
    const file = rendererFile(rendererDir, url.pathname);
    if (!file || !fs.existsSync(file)) return new Response('not found', { status: 404, headers });
    const body = await fs.promises.readFile(file);
    return new Response(body, {
      status: 200,
      headers: { ...headers, 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream' },
    });
  });
}
