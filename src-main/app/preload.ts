/**
 * The preload: exposes the studio API and nothing else (no ipcRenderer, no Node). Calls go over one
 * channel and only for known method names; events come back without Electron's event object.
 * Bundled to one CommonJS file because sandboxed preloads cannot load modules.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import type { ApiTransport } from '../../shared/api/client';
import { isEventName, type EventName } from '../../shared/api/events';
import { isMethodName } from '../../shared/api/methods';
import { CALL_CHANNEL, EVENT_CHANNEL } from './ipc-handler';

const transport: ApiTransport = {
  kind: 'electron',
  call(method, args) {
    if (!isMethodName(method))
      return Promise.resolve({
        ok: false,
        error: { code: 'invalid', message: `unknown method ${JSON.stringify(method)}` },
      });
    return ipcRenderer.invoke(CALL_CHANNEL, method, args);
  },
  subscribe(listener: (name: EventName, payload: unknown) => void) {
    const handler = (_event: unknown, name: unknown, payload: unknown) => {
      if (isEventName(name)) listener(name, payload);
    };
    ipcRenderer.on(EVENT_CHANNEL, handler);
    return () => void ipcRenderer.removeListener(EVENT_CHANNEL, handler);
  },
};

contextBridge.exposeInMainWorld('selfemd', {
  transport,
  pathForFile: (file: File) => webUtils.getPathForFile(file),
});
