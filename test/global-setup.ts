/**
 * Runs once before any test file: builds the renderer (when stale) for the browser end-to-end
 * tests. Built here rather than by each e2e file, because files run in parallel and two vite
 * builds into dist/renderer at once empty each other's output under a running server (a lazily
 * loaded view then fails to load).
 */
import { ensureRendererBuilt } from './e2e/harness';

export default function setup(): void {
  ensureRendererBuilt();
}
