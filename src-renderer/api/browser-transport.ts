/**
 * Browser mode's transport: requests as `POST /api/call/<method>`, events from the `/api/events`
 * WebSocket (reconnecting with back-off). The access cookie set by the printed link authenticates
 * both; nothing here sees the token.
 */
import type { ApiTransport } from '../../shared/api/client';
import { isEventName, type EventName } from '../../shared/api/events';
import type { MethodName } from '../../shared/api/methods';
import { decodeWire, encodeWire } from '../../shared/api/wire';

export type ConnectionState = 'connecting' | 'open' | 'lost' | 'unauthorized';

export interface BrowserTransport extends ApiTransport {
  onConnection(listener: (state: ConnectionState) => void): () => void;
  upload(uploadId: string, relPath: string, file: Blob): Promise<{ dir: string; bytes: number }>;
}

export function createBrowserTransport(origin = window.location.origin): BrowserTransport {
  const listeners = new Set<(name: EventName, payload: unknown) => void>();
  const connectionListeners = new Set<(state: ConnectionState) => void>();
  let state: ConnectionState = 'connecting';
  let socket: WebSocket | null = null;
  let retry = 0;

  const setState = (s: ConnectionState) => {
    if (s === state) return;
    state = s;
    for (const l of connectionListeners) l(s);
  };

  const connect = () => {
    const ws = new WebSocket(`${origin.replace(/^http/, 'ws')}/api/events`);
    socket = ws;
    ws.onopen = () => {
      retry = 0;
      setState('open');
    };
    ws.onmessage = (m) => {
      const event = decodeWire(String(m.data)) as { name?: unknown; payload?: unknown };
      if (!isEventName(event.name)) return;
      for (const l of listeners) l(event.name, event.payload);
    };
    ws.onclose = () => {
      socket = null;
      // A refused upgrade looks like any close: ask the server whether the cookie is still good.
      void fetch(`${origin}/api/call/system.info`, { method: 'POST', body: '{}', credentials: 'same-origin' })
        .then((r) => setState(r.status === 401 ? 'unauthorized' : 'lost'))
        .catch(() => setState('lost'))
        .finally(() => {
          retry = Math.min(retry + 1, 6);
          setTimeout(connect, 250 * 2 ** retry);
        });
    };
  };

  return {
    kind: 'browser',
    async call(method: MethodName, args: unknown) {
      let res: Response;
      try {
        res = await fetch(`${origin}/api/call/${encodeURIComponent(method)}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: encodeWire(args),
          credentials: 'same-origin',
        });
      } catch (e) {
        return {
          ok: false,
          error: {
            code: 'unavailable',
            message: `the studio server does not answer (${(e as Error).message})`,
            hint: 'Check that “npm run serve” is still running, then reload.',
          },
        };
      }
      const text = await res.text();
      try {
        return decodeWire(text);
      } catch {
        return {
          ok: false,
          error: {
            code: 'internal',
            message: `the server answered ${res.status} with something that is not JSON`,
          },
        };
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      if (!socket) connect();
      return () => void listeners.delete(listener);
    },
    onConnection(listener) {
      connectionListeners.add(listener);
      listener(state);
      return () => void connectionListeners.delete(listener);
    },
    async upload(uploadId, relPath, file) {
      const path = relPath.split('/').map(encodeURIComponent).join('/');
      const res = await fetch(`${origin}/api/upload/${encodeURIComponent(uploadId)}/${path}`, {
        method: 'PUT',
        body: file,
        credentials: 'same-origin',
      });
      const body = decodeWire(await res.text()) as {
        ok: boolean;
        value?: { dir: string; bytes: number };
        error?: { message: string };
      };
      if (!body.ok || !body.value) throw new Error(body.error?.message ?? `upload failed (${res.status})`);
      return body.value;
    },
  };
}
