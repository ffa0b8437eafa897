/**
 * The Electron main process: one window on the app:// renderer, the studio service behind a single
 * validated IPC channel, training in utilityProcess workers (webgpu runs in a plain Node process:
 * utility-spawner.ts). Follows Electron's security checklist:
 * context isolation and sandbox on, no Node in the page, a CSP on every response, permissions
 * denied, navigation and new windows locked, every IPC sender checked.
 */
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  safeStorage,
  session,
  shell,
  utilityProcess,
  type WebContents,
} from 'electron';
import { StudioService } from '../jobs/studio-service';
import { studioHome } from '../jobs/service/studio-home';
import { APP_ORIGIN, handleAppScheme, registerAppScheme } from './app-protocol';
import { CALL_CHANNEL, createIpcHandler, EVENT_CHANNEL, isTrustedSender } from './ipc-handler';
import { appPaths } from './paths';
import { probeWebGpu } from '../jobs/service/hardware';
import { findGpuHost } from './gpu-host';
import { safeStorageBox } from './safe-storage-box';
import { appWorkerSpawner } from './utility-spawner';

const paths = appPaths(__dirname);
let service: StudioService | null = null;
let window: BrowserWindow | null = null;
let closing = false;

registerAppScheme();
app.enableSandbox();

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (window?.isMinimized()) window.restore();
    window?.focus();
  });
  app.whenReady().then(start, (e: unknown) => fail(e));
}

function fail(e: unknown): void {
  dialog.showErrorBox('Self-EMD Studio could not start', e instanceof Error ? e.message : String(e));
  app.exit(1);
}

function lockDown(contents: WebContents): void {
  contents.on('will-navigate', (event, url) => {
    if (!url.startsWith(`${APP_ORIGIN}/`)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!url.startsWith(`${APP_ORIGIN}/`)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    // Documentation links open in the user's browser; nothing opens inside the app.
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
}

async function start(): Promise<void> {
  try {
    const ses = session.defaultSession;
    ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
    ses.setPermissionCheckHandler(() => false);
    app.on('web-contents-created', (_e, contents) => lockDown(contents));
    handleAppScheme(paths.renderer);

    const spawner = appWorkerSpawner({
      utilityProcess,
      entry: paths.engineWorker,
      gpuHost: () => findGpuHost(),
      hardwareAdapter: () => {
        const gpu = service?.hardware.webgpu;
        return gpu?.state === 'available' && !gpu.adapter.fallback;
      },
    });
    service = StudioService.open({
      home: studioHome(),
      transport: 'electron',
      version: app.getVersion(),
      spawner,
      probeGpu: () => probeWebGpu(spawner),
      nativeBinding: paths.nativeBinding,
      // After app 'ready' (safeStorage answers only then): cluster tokens sealed by the OS.
      secrets: safeStorageBox(safeStorage),
      pickPath: async (kind, title) => {
        const options = {
          title,
          properties: [kind === 'folder' ? 'openDirectory' : 'openFile'] as ('openDirectory' | 'openFile')[],
          filters: kind === 'file' ? [{ name: 'COCO annotations', extensions: ['json'] }] : undefined,
        };
        const r = window
          ? await dialog.showOpenDialog(window, options)
          : await dialog.showOpenDialog(options);
        return r.canceled ? null : (r.filePaths[0] ?? null);
      },
    });
    const handler = createIpcHandler(service, (event) =>
      isTrustedSender(event, APP_ORIGIN, window?.webContents ?? null),
    );
    ipcMain.handle(CALL_CHANNEL, (event, ...args: unknown[]) =>
      handler(event, args[0], args[1], ...args.slice(2)),
    );
    service.on((e) => {
      if (window && !window.isDestroyed()) window.webContents.send(EVENT_CHANNEL, e.name, e.payload);
    });
    createWindow();
  } catch (e) {
    fail(e);
  }
}

function createWindow(): void {
  window = new BrowserWindow({
    width: 1440,
    height: 920,
    minWidth: 960,
    minHeight: 600,
    title: 'Self-EMD Studio',
    icon: paths.icon,
    backgroundColor: '#15171a',
    show: false,
    webPreferences: {
      preload: paths.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      spellcheck: false,
    },
  });
  window.once('ready-to-show', () => window?.show());
  window.on('closed', () => (window = null));
  void window.loadURL(`${APP_ORIGIN}/index.html`);
}

app.on('window-all-closed', () => app.quit());

// Live runs are paused (checkpointed) before the app exits, so they resume later.
app.on('before-quit', (event) => {
  if (closing || !service) return;
  event.preventDefault();
  closing = true;
  service
    .close()
    .catch((e: unknown) => console.error('closing the studio:', e))
    .finally(() => app.quit());
});
