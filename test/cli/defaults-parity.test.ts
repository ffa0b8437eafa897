/**
 * The CLI and the studio resolve a run the same way: the same request on the same machine gives the
 * same config from `selfemd pretrain` / `selfemd finetune` as from the studio's new-run and fine-tune
 * forms (runs.validate / runs.start's resolvers). If either side grew its own defaults, the configs
 * here would differ on some machine.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { resolvePretrainConfig } from '../../shared/config/pretrain';
import {
  pretrainDefaults,
  finetuneDefaultsByDetector,
  type MachineDescription,
} from '../../shared/config/run-defaults';
import { finetuneOverrides, resolveCliFinetune } from '../../src-main/cli/commands/finetune';
import { pretrainOverrides } from '../../src-main/cli/commands/pretrain';
import { resolveNewFinetune } from '../../src-main/jobs/service/new-finetune';
import { resolveNewRun } from '../../src-main/jobs/service/new-run';
import { StudioService } from '../../src-main/jobs/studio-service';
import { openStore } from '../../src-main/store';
import { removeTempDir, tempDir } from '../temp-dir';

const MACHINES: Record<string, MachineDescription> = {
  gpu: { backends: ['auto', 'tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'], cpus: 8 },
  native: { backends: ['auto', 'tfjs-node', 'wasm', 'cpu'], cpus: 4 },
  wasm: { backends: ['auto', 'wasm', 'cpu'], cpus: 2 },
};
const BACKENDS = [undefined, 'auto', 'tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'] as const;

const home = tempDir('selfemd-parity-');
const store = openStore(':memory:');
afterAll(() => {
  store.close();
  removeTempDir(home);
});

const backendFlag = (b: string | undefined) => (b ? ['--backend', b] : []);

describe('the CLI and the studio resolve the same run', () => {
  it('pretraining: same machine, same request → same config', () => {
    for (const [label, machine] of Object.entries(MACHINES))
      for (const backend of BACKENDS) {
        const cli = resolvePretrainConfig(
          pretrainOverrides([...backendFlag(backend), '--method', 'byol', '--epochs', '3'], machine)
            .overrides,
        );
        const studio = resolveNewRun(
          home,
          'byol',
          { ...(backend ? { backend } : {}), optim: { epochs: 3 } },
          null,
          machine,
        );
        expect(studio.issues, `${label} ${backend}`).toEqual([]);
        expect(studio.config, `${label} ${backend}`).toEqual(cli);
      }
    // The machine matters to both: a GPU machine and a wasm one get different runs.
    const on = (m: MachineDescription) => resolvePretrainConfig(pretrainOverrides([], m).overrides);
    expect(on(MACHINES.gpu!).data.imageSize).toBe(224);
    expect(on(MACHINES.wasm!).data.imageSize).toBe(96);
  });

  it('fine-tuning: same machine, same request → same config', () => {
    for (const [label, machine] of Object.entries(MACHINES))
      for (const backend of BACKENDS)
        for (const detector of ['faster-rcnn', 'retinanet'] as const) {
          const plan = finetuneOverrides(
            [...backendFlag(backend), '--detector', detector, '--init', 'random'],
            home,
            undefined,
            machine,
          );
          const cli = resolveCliFinetune(store, plan).config;
          const studio = resolveNewFinetune(
            home,
            store,
            {
              init: 'random',
              config: { ...(backend ? { backend } : {}), detector },
            },
            machine,
          );
          expect(studio.issues, `${label} ${backend} ${detector}`).toEqual([]);
          expect(studio.config, `${label} ${backend} ${detector}`).toEqual(cli);
        }
    const on = (m: MachineDescription) =>
      resolveCliFinetune(store, finetuneOverrides([], home, undefined, m)).config;
    expect(on(MACHINES.gpu!).backbone.name).toBe('resnet50');
    expect(on(MACHINES.wasm!).backbone.name).toBe('resnet18');
    // The detector matters to both on a CPU: RetinaNet trains at 192 px, Faster R-CNN at 128.
    const sized = (detector: string) =>
      resolveCliFinetune(store, finetuneOverrides(['--detector', detector], home, undefined, MACHINES.wasm!))
        .config.data.minSizeTest;
    expect([sized('retinanet'), sized('faster-rcnn')]).toEqual([192, 128]);
  });

  it('--full starts from the paper’s sizes on any machine', () => {
    const full = resolvePretrainConfig(pretrainOverrides(['--full'], MACHINES.wasm!).overrides);
    expect(full).toEqual(resolvePretrainConfig(pretrainOverrides([], MACHINES.gpu!).overrides));
  });

  it('this machine: the forms start from what the CLI fills in', async () => {
    const service = StudioService.open({ home, transport: 'browser', version: 'test', seedDemos: false });
    try {
      const info = await service.handle('system.info', {});
      if (!info.ok) throw new Error(info.error.message);
      const { hardware, recommended, recommendedFinetune } = info.value as {
        hardware: MachineDescription;
        recommended: unknown;
        recommendedFinetune: unknown;
      };
      expect(recommended).toEqual(pretrainDefaults(hardware));
      expect(recommendedFinetune).toEqual(finetuneDefaultsByDetector(hardware));
      // The CLI probes the machine the same way the studio does.
      const cli = resolvePretrainConfig(pretrainOverrides(['--method', 'byol']).overrides);
      expect(resolveNewRun(home, 'byol', {}, null, hardware).config).toEqual(cli);
    } finally {
      await service.close();
    }
  });
});
