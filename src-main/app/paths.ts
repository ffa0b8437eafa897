/**
 * Where the app's parts live. Bundled, main.cjs, preload.cjs, engine-worker.cjs and the window icon
 * (icon.png, from assets/) sit together in dist/app; the renderer in dist/renderer; in development an
 * Electron-ABI build of better-sqlite3 may sit in dist/electron-native (packaged apps get theirs
 * rebuilt by electron-builder).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface AppPaths {
  preload: string;
  engineWorker: string;
  /** The window's icon (Linux, Windows; macOS shows the bundle's .icns). */
  icon: string;
  renderer: string;
  nativeBinding: string | undefined;
}

export function appPaths(bundleDir: string): AppPaths {
  const dist = path.resolve(bundleDir, '..');
  const native = path.join(dist, 'electron-native', 'better_sqlite3.node');
  return {
    preload: path.join(bundleDir, 'preload.cjs'),
    engineWorker: path.join(bundleDir, 'engine-worker.cjs'),
    icon: path.join(bundleDir, 'icon.png'),
    renderer: path.join(dist, 'renderer'),
    nativeBinding: fs.existsSync(native) ? native : undefined,
  };
}
