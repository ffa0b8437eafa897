/**
 * An export's PyTorch note: torchvision constructors build width 64 only; at another width (the CPU
 * default, ResNet-18 at 32) the note says so, and the Python it gives rebuilds torchvision's ResNet at
 * that width. Without PyTorch here, the check is on shapes: the frozen torchvision state_dict of
 * resnet18 (width 64, fixtures/torchvision-reference.json) with every width-derived dimension halved
 * is what our width-32 export holds, name for name (fc left out, as the Python's strict=False says).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { torchvisionLoad } from '../../../shared/config/torchvision-load';
import { backboneToTorchTensors } from '../../../src-main/engine/export/torch-state-dict';
import { createBackbone } from '../../../src-main/engine/models/registry';

const FIXTURE = path.join(__dirname, 'fixtures', 'torchvision-reference.json');

describe('torchvisionLoad', () => {
  it('names the constructor at width 64, and says none builds width 32, with the lines that do', () => {
    expect(torchvisionLoad({ name: 'resnet50', baseWidth: 64 })).toMatchObject({
      constructorCall: 'torchvision.models.resnet50()',
      note: "loads into torchvision.models.resnet50() (torchvision's names and shapes)",
    });
    const r18 = torchvisionLoad({ name: 'resnet18', baseWidth: 32 }, 'exports/b.safetensors');
    expect(r18.constructorCall).toBeNull();
    expect(r18.note).toMatch(
      /^resnet18 at width 32 is built by no torchvision constructor \(they build width 64\)/,
    );
    expect(r18.python).toContain('model = WidthResNet(BasicBlock, [2, 2, 2, 2], 32)');
    expect(r18.python).toContain('load_state_dict(load_file("exports/b.safetensors"), strict=False)');
    expect(torchvisionLoad({ name: 'resnet50', baseWidth: 32 }).python).toContain(
      'WidthResNet(Bottleneck, [3, 4, 6, 3], 32)',
    );
  });

  it("mobilenet_v2: torchvision's constructor at every width, width_mult = baseWidth / 32", () => {
    expect(torchvisionLoad({ name: 'mobilenet_v2', baseWidth: 32 }).constructorCall).toBe(
      'torchvision.models.mobilenet_v2()',
    );
    const half = torchvisionLoad({ name: 'mobilenet_v2', baseWidth: 16 }, 'b.safetensors');
    expect(half.constructorCall).toBe('torchvision.models.mobilenet_v2(width_mult=0.5)');
    expect(half.note).toMatch(/classifier\.\* is not exported/);
    expect(half.python).toContain('model = torchvision.models.mobilenet_v2(width_mult=0.5)');
  });

  it('our width-32 ResNet-18 export has torchvision resnet18’s names with halved widths', async () => {
    const reference = JSON.parse(readFileSync(FIXTURE, 'utf8')) as {
      cases: { arch: string; stateDict: Record<string, number[]> }[];
    };
    const tv = reference.cases.find((c) => c.arch === 'resnet18')!.stateDict;
    const halved = Object.fromEntries(
      Object.entries(tv)
        .filter(([k]) => !k.startsWith('fc.'))
        .map(([k, shape]) => [
          k,
          // a conv's kernel size and the stem's 3 input channels do not follow the width
          shape.map((d, i) =>
            (shape.length === 4 && i >= 2) || (k === 'conv1.weight' && i === 1) ? d : d / 2,
          ),
        ]),
    );
    const backbone = createBackbone('resnet18', { baseWidth: 32, seed: 3 });
    try {
      const { tensors, metadata } = await backboneToTorchTensors(backbone);
      expect(Object.fromEntries(tensors.map((t) => [t.name, t.shape]))).toEqual(halved);
      expect([metadata.arch, metadata.baseWidth]).toEqual(['resnet18', '32']);
    } finally {
      backbone.dispose();
    }
  });
});

describe('the README', () => {
  it('shows the PyTorch lines that build ResNet-18 at width 16 (the CPU default), as the export note says', () => {
    const readme = readFileSync(path.join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
    expect(readme).toContain(
      `\`\`\`python\n${torchvisionLoad({ name: 'resnet18', baseWidth: 16 }).python}\n\`\`\``,
    );
  });
});
