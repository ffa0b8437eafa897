/**
 * For the webgpu test files: set up the webgpu backend once per file (an explicit request, so
 * SwiftShader's software adapter is accepted where no GPU exists). Where no adapter can be had the
 * files skip with one line saying why, except under CI=true, where .ci/run provides SwiftShader
 * and a missing adapter is a failure.
 */
import { it } from 'vitest';
import { initBackend, type BackendInfo } from '../../../src-main/engine/backend/select';

export interface WebGpuProbe {
  info?: BackendInfo;
  reason?: string;
}

export async function probeWebGpu(): Promise<WebGpuProbe> {
  try {
    return { info: await initBackend('webgpu', { env: {} }) };
  } catch (e) {
    return { reason: e instanceof Error ? e.message : String(e) };
  }
}

/** Call at the top level of a test file: prints the skip line, or adds a failing test under CI. */
export function reportSkip(file: string, probe: { info?: unknown; reason?: string }): void {
  if (probe.info) return;
  if (process.env.CI === 'true')
    it('has a webgpu adapter (CI provides SwiftShader)', () => {
      throw new Error(`no webgpu adapter under CI: ${probe.reason}`);
    });
  else console.warn(`${file}: webgpu tests skipped, no adapter: ${probe.reason}`);
}
