/** The terminal progress of a run: no "loss NaN" at step 1 of a healthy run, whose metrics come after its progress. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { StudioContext } from '../../src-main/cli/home';
import { followRun } from '../../src-main/cli/follow-run';

type Listener = (e: unknown) => void;

/** A studio whose run reports progress of step 1 before its loss, then step 2 with the loss known. */
function fakeStudio(): StudioContext {
  const listeners: Listener[] = [];
  const emit = (e: unknown) => listeners.forEach((l) => l(e));
  const progress = (step: number) => ({
    type: 'progress',
    runId: 'r1',
    progress: { step, totalSteps: 2, etaSeconds: 3 },
  });
  return {
    home: '/nowhere',
    manager: {
      on(l: Listener) {
        listeners.push(l);
        return () => listeners.splice(listeners.indexOf(l), 1);
      },
      async wait() {
        emit(progress(1));
        emit({ type: 'metrics', runId: 'r1', points: [{ key: 'loss/total', step: 1, value: 2.5 }] });
        emit(progress(2));
        return { id: 'r1', status: 'completed', step: 2, totalSteps: 2, backend: null };
      },
      async pause() {},
    },
    store: { getMetrics: () => [] },
    close: async () => undefined,
  } as unknown as StudioContext;
}

afterEach(() => vi.restoreAllMocks());

describe('followRun', () => {
  it('shows no loss before the first one is reported, then the loss', async () => {
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    await followRun(fakeStudio(), 'r1');
    const bars = lines.filter((l) => /\d+\/2 ETA/.test(l));
    expect(bars.length).toBeGreaterThanOrEqual(2);
    expect(bars.join('')).not.toContain('NaN');
    expect(bars.at(-1)).toContain('loss 2.5000');
  });
});
