/** `selfemd finetune` flag handling: what --init resolves to, how --size spreads, one-line errors. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveFinetuneConfig } from '../../../shared/config/finetune';
import { finetuneOverrides, resolveInit } from '../../../src-main/cli/commands/finetune';
import { CliError } from '../../../src-main/cli/cli-error';
import type { MachineDescription } from '../../../shared/config/run-defaults';
import { tempRunDir } from './overfit-fixture';

const home = tempRunDir('cli-home');
/** A machine with WebAssembly only: the CPU fine-tuning sizes are its defaults. */
const WASM: MachineDescription = { backends: ['auto', 'wasm', 'cpu'], cpus: 2 };

describe('selfemd finetune flags', () => {
  it('--init: random, a run id under <home>/runs, a safetensors file, a TF.js model folder, a .pth', () => {
    fs.mkdirSync(path.join(home, 'runs', 'pt-1', 'checkpoints'), { recursive: true });
    fs.writeFileSync(path.join(home, 'bb.safetensors'), '');
    fs.mkdirSync(path.join(home, 'tfjs'));
    fs.writeFileSync(path.join(home, 'tfjs', 'model.json'), '{}');
    expect(resolveInit('random', home)).toEqual({ kind: 'random', path: '' });
    expect(resolveInit('pt-1', home)).toEqual({
      kind: 'pretrain-run',
      path: path.join(home, 'runs', 'pt-1'),
    });
    expect(resolveInit(path.join(home, 'bb.safetensors'), home)).toEqual({
      kind: 'safetensors',
      path: path.join(home, 'bb.safetensors'),
    });
    expect(resolveInit(path.join(home, 'tfjs'), home)).toEqual({
      kind: 'tfjs',
      path: path.join(home, 'tfjs'),
    });
    expect(() => resolveInit('no-such-run', home)).toThrow(CliError);
    // torchvision's weights as users have them: a PyTorch state dict
    for (const file of ['resnet50.pth', 'resnet50.pt']) {
      fs.writeFileSync(path.join(home, file), '');
      expect(resolveInit(path.join(home, file), home)).toEqual({
        kind: 'pytorch',
        path: path.join(home, file),
      });
    }
    fs.writeFileSync(path.join(home, 'weights.npz'), '');
    expect(() => resolveInit(path.join(home, 'weights.npz'), home)).toThrow(
      /expected a \.safetensors file, a PyTorch \.pth \/ \.pt state dict or a TF\.js model\.json/,
    );
  });

  it('--size sets the test size and a [¾, 1] training range; CPU sizes fill the rest; flags win', () => {
    const plan = finetuneOverrides(
      [
        '--detector',
        'faster-rcnn',
        '--init',
        'random',
        '--size',
        '160',
        '--epochs',
        '3',
        '--lr',
        '0.03',
        '--name',
        'x',
      ],
      home,
      undefined,
      WASM,
    );
    const c = resolveFinetuneConfig(plan.overrides);
    expect(c.detector).toBe('faster-rcnn');
    expect(c.data).toMatchObject({
      minSizeTrain: [120, 160],
      minSizeTest: 160,
      maxSizeTest: 267,
      demoSize: 128,
    });
    expect(c.optim).toMatchObject({ epochs: 3, lr: 0.03, batchSize: 4 });
    expect(c.backbone).toMatchObject({ name: 'resnet18', baseWidth: 16 });
    expect(plan.runDir).toBe(path.join(home, 'runs', 'x'));
    expect(plan.name).toBe('x');
    // without --lr: the CPU preset's rate (measured, docs/detection.md); with --full detectron2's, per detector
    expect(
      resolveFinetuneConfig(finetuneOverrides(['--detector', 'faster-rcnn'], home, undefined, WASM).overrides)
        .optim.lr,
    ).toBe(0.04);
    expect(
      resolveFinetuneConfig(
        finetuneOverrides(['--detector', 'faster-rcnn', '--full'], home, undefined, WASM).overrides,
      ).optim.lr,
    ).toBe(0.02);
    expect(
      resolveFinetuneConfig(
        finetuneOverrides(['--detector', 'retinanet', '--full'], home, undefined, WASM).overrides,
      ).optim.lr,
    ).toBe(0.01);
  });

  it('bad input is a one-line CliError naming the flag', () => {
    expect(() => finetuneOverrides(['--epochs', 'many'], home)).toThrow(
      /--epochs must be a number, got "many"/,
    );
    expect(() => finetuneOverrides(['--train', '/no/such/coco.json'], home)).toThrow(
      /--train \/no\/such\/coco\.json: no such file or folder/,
    );
    expect(() => finetuneOverrides(['--bogus'], home)).toThrow(CliError);
    expect(() => finetuneOverrides(['--resume', '--name', 'nothing-here'], home)).toThrow(
      /--resume: no fine-tune run named "nothing-here"/,
    );
  });
});
