/**
 * Which backbone a torchvision-named state dict holds, from its keys and shapes alone (a `.pth` of
 * torchvision's ImageNet weights carries no metadata): a ResNet's depth from its block names (blocks
 * per stage, basic or bottleneck), its width from the stem conv. torchvision's `mobilenet_v2` is
 * recognised by its `features.*` names, its width (the stem's channels, width_mult × 32) from
 * `features.0.0.weight`. Whether
 * every other tensor fits is the loader's check (torch-state-dict.ts), which names each key whose
 * shape differs, with both shapes.
 */
// Shared tables only (no TF.js): the studio's process reads a file's architecture before any training process starts.
import { BACKBONE_NAMES, isBackboneName } from '../../../shared/config/backbones';
import { TORCHVISION_RESNETS } from '../../../shared/config/torchvision-load';

export interface DetectedArchitecture {
  name: string;
  baseWidth: number;
}

/** The ResNet depth whose parameter names match (block kind from conv3, blocks per stage counted). */
export function resnetDepthFromNames(names: ReadonlySet<string>): string | undefined {
  const count = (layer: number) => {
    let n = 0;
    while (names.has(`layer${layer}.${n}.conv1.weight`)) n++;
    return n;
  };
  const layers = [1, 2, 3, 4].map(count).join(',');
  const block = names.has('layer1.0.conv3.weight') ? 'Bottleneck' : 'BasicBlock';
  return Object.entries(TORCHVISION_RESNETS).find(
    ([, s]) => s.block === block && s.layers.join(',') === layers,
  )?.[0];
}

const fmt = (shape: readonly number[] | undefined) => (shape ? `[${shape.join(', ')}]` : 'absent');

/**
 * The architecture of tensors named as torchvision names them, with torch's shapes (conv OIHW).
 * `source` names the file in errors.
 */
export function detectArchitecture(
  shapes: ReadonlyMap<string, readonly number[]>,
  source: string,
): DetectedArchitecture {
  const fail = (problem: string): never => {
    throw new Error(`${source}: ${problem}`);
  };
  const names = new Set(shapes.keys());
  if (names.has('conv1.weight') && names.has('layer1.0.conv1.weight')) {
    const stem = shapes.get('conv1.weight')!;
    if (stem.length !== 4 || stem[1] !== 3 || stem[2] !== 7 || stem[3] !== 7)
      fail(`key "conv1.weight" has shape ${fmt(stem)}; a torchvision ResNet's stem is [width, 3, 7, 7]`);
    const name = resnetDepthFromNames(names);
    if (!name) {
      const counts = [1, 2, 3, 4].map(
        (l) => [...names].filter((n) => new RegExp(`^layer${l}\\.\\d+\\.conv1\\.weight$`).test(n)).length,
      );
      fail(
        `a ResNet with ${counts.join('/')} blocks per stage (${names.has('layer1.0.conv3.weight') ? 'bottleneck' : 'basic'}) is none of ${Object.keys(TORCHVISION_RESNETS).join(', ')}`,
      );
    }
    if (!isBackboneName(name!))
      fail(
        `holds torchvision's ${name}, which is not a backbone this studio builds (${BACKBONE_NAMES.join(', ')})`,
      );
    return { name: name!, baseWidth: stem[0]! };
  }
  if (names.has('features.0.0.weight') && names.has('features.1.conv.0.0.weight')) {
    return { name: 'mobilenet_v2', baseWidth: shapes.get('features.0.0.weight')![0]! };
  }
  const sample = [...names].slice(0, 4).join(', ');
  const prefixed = [...names].every((n) => n.startsWith('module.'))
    ? ' (every key starts with "module.": saved from a DataParallel wrapper; save model.module.state_dict())'
    : '';
  return fail(
    `not a torchvision ResNet or MobileNetV2 state dict: no "conv1.weight" and "layer1.0.conv1.weight"${prefixed}; its keys begin ${sample}`,
  );
}
