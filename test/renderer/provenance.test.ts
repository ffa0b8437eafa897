import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../shared/dto';
import { backboneOrigin, deleteRunQuestion } from '../../src-renderer/lib/provenance';

const run = (over: Partial<RunRecord>): RunRecord =>
  ({ id: 'x', kind: 'finetune', name: 'x', parentRunId: null, config: {}, ...over }) as RunRecord;

describe('provenance of a fine-tune', () => {
  it('says the backbone came from a deleted run after the store dropped the link (a restart)', () => {
    const parent = run({ id: 'p', kind: 'pretrain', name: 'emd r18' });
    const child = run({
      parentRunId: 'p',
      config: { init: { kind: 'pretrain-run', path: '/h/runs/p/checkpoints' } },
    });
    expect(backboneOrigin(child, parent)).toEqual({ kind: 'run', run: parent });
    // deleted this session: the id is still on the record
    expect(backboneOrigin(child, null)).toEqual({ kind: 'deleted-run' });
    // after a restart the store has set the link to null; the config still says where it came from
    expect(backboneOrigin({ ...child, parentRunId: null }, null)).toEqual({ kind: 'deleted-run' });
    expect(
      backboneOrigin(run({ config: { init: { kind: 'safetensors', path: '/e/b.safetensors' } } }), null),
    ).toEqual({ kind: 'file', file: 'b.safetensors' });
    expect(backboneOrigin(run({ config: { init: { kind: 'random', path: '' } } }), null)).toEqual({
      kind: 'random',
    });
  });

  it('deleting a run with children names them', () => {
    const parent = run({ id: 'p', kind: 'pretrain', name: 'emd r18' });
    const all = [
      parent,
      run({ id: 'a', name: 'ft A', parentRunId: 'p' }),
      run({ id: 'b', name: 'ft B', parentRunId: 'p' }),
    ];
    expect(deleteRunQuestion(parent, all)).toMatch(
      /2 fine-tunes started from it \(“ft A”, “ft B”\) keep their results/,
    );
    expect(deleteRunQuestion(all[1]!, all)).toBe(
      'Delete run “ft A” with its metrics, checkpoints and exports records?',
    );
  });
});
