/**
 * The renderer's one handle on the studio: the Electron preload's transport when there is one,
 * otherwise browser mode's HTTP/WebSocket transport. Views and stores import `api` and never know which.
 */
import { createStudioClient, type StudioApi } from '../../shared/api/client';
import { createBrowserTransport, type BrowserTransport } from './browser-transport';

const preload = window.selfemd;
export const browserTransport: BrowserTransport | null = preload ? null : createBrowserTransport();
export const api: StudioApi = createStudioClient(preload ? preload.transport : browserTransport!);

/** A dropped file's path on disk (Electron only; browsers do not reveal it). */
export function pathForDroppedFile(file: File): string | null {
  return preload ? preload.pathForFile(file) || null : null;
}
