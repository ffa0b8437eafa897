/**
 * The backbones a config may name. shared/ cannot import the engine, so the names live here and the
 * engine's registry (src-main/engine/models/registry.ts) is typed by them: its built-in builders are
 * a `Record<BackboneName, …>`, so a name here without a builder, or a builder without a name here,
 * fails to compile, and test/shared/backbone-names.test.ts checks the registry lists exactly these.
 * Config validation and the studio's architecture choices read this list; adding a backbone is
 * adding its name here and its builder there.
 */

/** In the registry's order (natural sort: resnet18 < resnet101). */
export const BACKBONE_NAMES = ['mobilenet_v2', 'resnet18', 'resnet34', 'resnet50', 'resnet101'] as const;
export type BackboneName = (typeof BACKBONE_NAMES)[number];

export function isBackboneName(name: string): name is BackboneName {
  return (BACKBONE_NAMES as readonly string[]).includes(name);
}

/**
 * What `backbone.baseWidth` must be beyond a positive integer, or null when it is fine. ResNets: any
 * width (64 = torchvision's). MobileNetV2: the stem's channels (32 = torchvision's width multiplier
 * 1.0), a multiple of 8 because torchvision rounds every layer's channels to one.
 */
export function backboneWidthProblem(name: string, baseWidth: number): string | null {
  if (name === 'mobilenet_v2' && (baseWidth < 8 || baseWidth % 8 !== 0))
    return `must be a positive multiple of 8 for mobilenet_v2 (the stem's channels; 32 = torchvision's width multiplier 1.0), got ${baseWidth}`;
  return null;
}
