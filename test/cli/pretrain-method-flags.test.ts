/** `selfemd pretrain --method moco-v2|simclr` and the baselines' own flags, as the config sees them. */
import { describe, expect, it } from 'vitest';
import { resolvePretrainConfig } from '../../shared/config/pretrain';
import type { MachineDescription } from '../../shared/config/run-defaults';
import { pretrainOverrides } from '../../src-main/cli/commands/pretrain';

const WASM: MachineDescription = { backends: ['auto', 'wasm', 'cpu'], cpus: 2 };
const resolve = (argv: string[]) => resolvePretrainConfig(pretrainOverrides(argv, WASM).overrides);

describe('selfemd pretrain: the contrastive baselines', () => {
  it('selects moco-v2 with its CPU defaults, and --temperature / --queue-size set its fields', () => {
    const c = resolve(['--method', 'moco-v2']);
    expect(c.method).toBe('moco-v2');
    expect(c.moco).toMatchObject({ queueSize: 256, temperature: 0.2, projectorHidden: 512 });
    const set = resolve(['--method', 'moco-v2', '--temperature', '0.1', '--queue-size', '512']);
    expect(set.moco).toMatchObject({ queueSize: 512, temperature: 0.1 });
    expect(set.simclr.temperature).toBe(0.5);
  });

  it('selects simclr; --temperature is its NT-Xent temperature', () => {
    const c = resolve(['--method', 'simclr', '--temperature', '0.2']);
    expect(c.method).toBe('simclr');
    expect(c.simclr.temperature).toBe(0.2);
    expect(c.moco.temperature).toBe(0.2); // MoCo's default, untouched
    expect(resolve(['--method', 'simclr', '--temperature', '0.7']).moco.temperature).toBe(0.2);
  });

  it('refuses --temperature without a contrastive method, and a queue smaller than a step', () => {
    expect(() => pretrainOverrides(['--temperature', '0.2'], WASM)).toThrow(
      /--temperature needs --method moco-v2 or --method simclr/,
    );
    expect(() => resolve(['--method', 'moco-v2', '--batch', '32', '--queue-size', '32'])).toThrow(
      /moco\.queueSize: must hold one step's keys: at least 2 × optim\.batchSize \(64\)/,
    );
  });
});
