/**
 * The one IPC handler of the Electron app (`studio:call`). It answers only the app's own top-level
 * page (checked on every call: frame URL and origin, not a subframe), refuses anything that is not a
 * known method, and hands the rest to the service, which checks the arguments against the shared
 * shapes. Written against structural types so tests can drive it without an Electron binary.
 */
import type { ApiResponse } from '../../shared/api/errors';
import { isMethodName } from '../../shared/api/methods';

export const CALL_CHANNEL = 'studio:call';
export const EVENT_CHANNEL = 'studio:event';

/** The parts of Electron's IpcMainInvokeEvent the checks read. */
export interface SenderInfo {
  sender: unknown;
  senderFrame: { url: string; parent: unknown } | null;
}

export interface ServiceLike {
  handle(method: unknown, args: unknown): Promise<ApiResponse<unknown>>;
}

/** The page is the app's own (served from `origin`), in its top-level frame, in the studio's window. */
export function isTrustedSender(event: SenderInfo, origin: string, window: unknown): boolean {
  const frame = event.senderFrame;
  if (!frame || frame.parent !== null) return false;
  let url: URL;
  try {
    url = new URL(frame.url);
  } catch {
    return false;
  }
  if (url.protocol + '//' + url.host !== origin) return false;
  return window !== null && window !== undefined && event.sender === window;
}

export function createIpcHandler(service: ServiceLike, trusted: (event: SenderInfo) => boolean) {
  return async (
    event: SenderInfo,
    method: unknown,
    args: unknown,
    ...extra: unknown[]
  ): Promise<ApiResponse<unknown>> => {
    if (!trusted(event))
      return {
        ok: false,
        error: { code: 'unauthorized', message: 'IPC from a page that is not the studio is refused' },
      };
    if (extra.length > 0)
      return { ok: false, error: { code: 'invalid', message: 'studio:call takes (method, args)' } };
    if (!isMethodName(method))
      return { ok: false, error: { code: 'invalid', message: `unknown method ${JSON.stringify(method)}` } };
    return service.handle(method, args);
  };
}
