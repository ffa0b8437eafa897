/**
 * How an exported backbone loads in PyTorch. torchvision's constructors (resnet18 … resnet152) build
 * base width 64 only; an export at another width (the CPU default: ResNet-18 at width 16) has the
 * same parameter names at other sizes, so it loads into torchvision's ResNet class with its layers
 * rebuilt at that width — the few lines of PyTorch below (also in the README).
 */

/** torchvision's ResNet block and layer counts for each backbone the studio trains. */
export const TORCHVISION_RESNETS: Record<string, { block: 'BasicBlock' | 'Bottleneck'; layers: number[] }> = {
  resnet18: { block: 'BasicBlock', layers: [2, 2, 2, 2] },
  resnet34: { block: 'BasicBlock', layers: [3, 4, 6, 3] },
  resnet50: { block: 'Bottleneck', layers: [3, 4, 6, 3] },
  resnet101: { block: 'Bottleneck', layers: [3, 4, 23, 3] },
  resnet152: { block: 'Bottleneck', layers: [3, 8, 36, 3] },
};

/** The base width torchvision's constructors build. */
export const TORCHVISION_BASE_WIDTH = 64;

export interface TorchvisionLoad {
  /** `torchvision.models.resnet18()` when a constructor builds this backbone, else null. */
  constructorCall: string | null;
  /** One sentence for the export's result: how to load it. */
  note: string;
  /** Python that builds the backbone and loads the file (`PATH` stands for the file). */
  python: string;
}

/** MobileNetV2's stem at width multiplier 1.0: its baseWidth / 32 is torchvision's `width_mult`. */
const MOBILENET_V2_STEM = 32;

export function torchvisionLoad(
  backbone: { name: string; baseWidth: number },
  file = 'backbone.safetensors',
): TorchvisionLoad {
  if (backbone.name === 'mobilenet_v2') {
    // torchvision's constructor takes the width multiplier, so every width has a constructor.
    const mult = backbone.baseWidth / MOBILENET_V2_STEM;
    const constructorCall = `torchvision.models.mobilenet_v2(${mult === 1 ? '' : `width_mult=${mult}`})`;
    return {
      constructorCall,
      note: `loads into ${constructorCall} (torchvision's names and shapes; classifier.* is not exported)`,
      python: [
        'import torchvision',
        'from safetensors.torch import load_file',
        '',
        `model = ${constructorCall}`,
        `model.load_state_dict(load_file(${JSON.stringify(file)}), strict=False)  # no classifier in the export`,
      ].join('\n'),
    };
  }
  const spec = TORCHVISION_RESNETS[backbone.name];
  const load = `model.load_state_dict(load_file(${JSON.stringify(file)}), strict=False)  # no fc in the export`;
  if (spec && backbone.baseWidth === TORCHVISION_BASE_WIDTH) {
    const constructorCall = `torchvision.models.${backbone.name}()`;
    return {
      constructorCall,
      note: `loads into ${constructorCall} (torchvision's names and shapes)`,
      python: [
        'import torchvision',
        'from safetensors.torch import load_file',
        '',
        `model = ${constructorCall}`,
        load,
      ].join('\n'),
    };
  }
  const { block, layers } = spec ?? { block: 'BasicBlock', layers: [2, 2, 2, 2] };
  return {
    constructorCall: null,
    note: `${backbone.name} at width ${backbone.baseWidth} is built by no torchvision constructor (they build width ${TORCHVISION_BASE_WIDTH}); torchvision's ResNet class with its layers rebuilt at width ${backbone.baseWidth} loads it (the README shows the lines)`,
    python: widthResNetPython(block, layers, backbone.baseWidth, load),
  };
}

function widthResNetPython(block: string, layers: number[], width: number, load: string): string {
  return [
    'import torch.nn as nn',
    `from torchvision.models.resnet import ResNet, ${block}`,
    'from safetensors.torch import load_file',
    '',
    '',
    'class WidthResNet(ResNet):',
    '    """torchvision\'s ResNet at another base width (its constructors build 64)."""',
    '',
    '    def __init__(self, block, layers, width):',
    '        super().__init__(block, layers)',
    '        self.inplanes = width',
    '        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)',
    '        self.bn1 = nn.BatchNorm2d(width)',
    '        self.layer1 = self._make_layer(block, width, layers[0])',
    '        self.layer2 = self._make_layer(block, width * 2, layers[1], stride=2)',
    '        self.layer3 = self._make_layer(block, width * 4, layers[2], stride=2)',
    '        self.layer4 = self._make_layer(block, width * 8, layers[3], stride=2)',
    '        self.fc = nn.Linear(width * 8 * block.expansion, 1000)',
    '',
    '',
    `model = WidthResNet(${block}, [${layers.join(', ')}], ${width})`,
    load,
  ].join('\n');
}
