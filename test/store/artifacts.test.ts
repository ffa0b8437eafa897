import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExperimentStore } from '../../src-main/store/experiment-store';
import { manualClock, memoryStore, pretrainRun } from './helpers';

describe('artifacts', () => {
  let store: ExperimentStore;
  let clock: ReturnType<typeof manualClock>;
  let runId: string;
  beforeEach(() => {
    clock = manualClock();
    store = memoryStore({ now: clock.now });
    runId = store.createRun(pretrainRun()).id;
  });
  afterEach(() => store.close());

  it('adds artifacts with their meta and lists them oldest first, optionally by kind', () => {
    const meta = {
      format: 'safetensors',
      params: 11_689_512,
      names: ['conv1.weight', 'fc.bias'],
      torchvision: true,
    };
    const st = store.addArtifact({
      runId,
      kind: 'export-safetensors',
      path: '/out/resnet18.safetensors',
      meta,
    });
    expect(st).toEqual({
      id: st.id,
      runId,
      kind: 'export-safetensors',
      path: '/out/resnet18.safetensors',
      meta,
      createdAt: clock.now(),
    });
    clock.advance(10);
    const tp = store.addArtifact({ runId, kind: 'transport', path: '/out/plan-0.json' });
    expect(tp.meta).toEqual({});
    expect(store.listArtifacts(runId).map((a) => a.id)).toEqual([st.id, tp.id]);
    expect(store.listArtifacts(runId, 'transport')).toEqual([tp]);
  });

  it('rejects bad input naming the field', () => {
    expect(() => store.addArtifact({ runId, kind: 'zip' as never, path: '/x' })).toThrow(
      'addArtifact: kind must be one of export-tfjs, export-safetensors, transport, predictions, report, log, got "zip"',
    );
    expect(() =>
      store.addArtifact({ runId, kind: 'log', path: '/x', meta: { when: new Date(0) } as never }),
    ).toThrow(/addArtifact: meta\.when must be plain JSON data/);
    expect(() =>
      store.addArtifact({ runId, kind: 'log', path: '/x', meta: { a: [1, undefined] } as never }),
    ).toThrow('addArtifact: meta.a[1] must be plain JSON data, got undefined');
    expect(() => store.addArtifact({ runId: 'ghost', kind: 'log', path: '/x' })).toThrow(
      'addArtifact: run "ghost" does not exist',
    );
    expect(store.listArtifacts(runId)).toEqual([]);
  });
});
