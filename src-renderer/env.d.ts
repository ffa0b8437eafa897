/// <reference types="vite/client" />
import type { ApiTransport } from '../shared/api/client';

declare module '*.vue' {
  import type { DefineComponent } from 'vue';
  const component: DefineComponent<object, object, unknown>;
  export default component;
}

/** What the Electron preload exposes (nothing else of Electron or Node reaches the page). */
export interface PreloadBridge {
  transport: ApiTransport;
  /** The path of a dropped file (Electron's webUtils.getPathForFile). */
  pathForFile(file: File): string;
}

declare global {
  interface Window {
    selfemd?: PreloadBridge;
  }
}
