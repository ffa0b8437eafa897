/**
 * Backbones by name (timm's / torchvision's registry idea): a builder is registered once under a
 * name, users pick it from a config string, and `listBackbones('resnet*')` tells them what exists.
 */
import { backboneWidthProblem, type BackboneName } from '../../../shared/config/backbones';
import { createMobileNetV2, MOBILENET_V2_STEM } from './mobilenet-v2';
import { createResNet, type BackboneOptions } from './resnet';
import type { Backbone } from './types';

export type { BackboneOptions } from './resnet';

export type BackboneBuilder = (options: Required<BackboneOptions>) => Backbone;

export interface BackboneTraits {
  /** The width torchvision builds (64 for ResNets, 32 = MobileNetV2's stem at multiplier 1.0). */
  defaultBaseWidth: number;
  /** The first conv's weight, [k, k, 3, baseWidth]: a checkpoint's width is read from it. */
  stemWeight: string;
}

/** torchvision's ResNets: the default for a registered backbone that says nothing of its traits. */
const RESNET: BackboneTraits = { defaultBaseWidth: 64, stemWeight: 'conv1.weight' };

const builders = new Map<string, BackboneBuilder>();
const traits = new Map<string, BackboneTraits>();

export function registerBackbone(
  name: string,
  builder: BackboneBuilder,
  backboneTraits: BackboneTraits = RESNET,
): void {
  if (!/^[a-z][a-z0-9_.-]*$/.test(name)) {
    throw new Error(`registerBackbone: "${name}" is not a valid name (lowercase letters, digits, _ . -)`);
  }
  if (builders.has(name)) throw new Error(`registerBackbone: "${name}" is already registered`);
  builders.set(name, builder);
  traits.set(name, backboneTraits);
}

/** A registered backbone's traits (throws for an unknown name, listing the known ones). */
export function backboneTraits(name: string): BackboneTraits {
  const t = traits.get(name);
  if (!t) throw new Error(`Unknown backbone "${name}"; registered: ${listBackbones().join(', ')}`);
  return t;
}

export function createBackbone(name: string, options: BackboneOptions = {}): Backbone {
  const builder = builders.get(name);
  if (!builder) {
    throw new Error(`Unknown backbone "${name}"; registered: ${listBackbones().join(', ')}`);
  }
  const baseWidth = options.baseWidth ?? traits.get(name)!.defaultBaseWidth;
  const seed = options.seed ?? 0;
  if (!Number.isInteger(baseWidth) || baseWidth < 1) {
    throw new Error(`Backbone "${name}": baseWidth must be a positive integer (got ${baseWidth})`);
  }
  const widthProblem = backboneWidthProblem(name, baseWidth);
  if (widthProblem) throw new Error(`Backbone "${name}": baseWidth ${widthProblem}`);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new Error(`Backbone "${name}": seed must be a non-negative integer (got ${seed})`);
  }
  return builder({ baseWidth, seed });
}

/** Sorted names; `pattern` is a shell-style wildcard (`*`, `?`) matched against the whole name. */
export function listBackbones(pattern?: string): string[] {
  const names = [...builders.keys()].sort(naturalCompare);
  if (pattern === undefined) return names;
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return names.filter((n) => re.test(n));
}

/** resnet18 < resnet34 < resnet50 < resnet101 (digits compared as numbers). */
function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/**
 * The built-in backbones, keyed by shared's BACKBONE_NAMES (what configs accept): the Record type
 * makes the two lists equal at compile time, so registering one here (and its name there) is all
 * adding a backbone takes — validation, the CLI's `info` and the studio's choices follow.
 */
const BUILT_IN: Record<BackboneName, { build: BackboneBuilder; traits: BackboneTraits }> = {
  mobilenet_v2: {
    build: (o) => createMobileNetV2(o),
    traits: { defaultBaseWidth: MOBILENET_V2_STEM, stemWeight: 'features.0.0.weight' },
  },
  resnet18: { build: (o) => createResNet('resnet18', o), traits: RESNET },
  resnet34: { build: (o) => createResNet('resnet34', o), traits: RESNET },
  resnet50: { build: (o) => createResNet('resnet50', o), traits: RESNET },
  resnet101: { build: (o) => createResNet('resnet101', o), traits: RESNET },
};

for (const [name, { build, traits: t }] of Object.entries(BUILT_IN)) registerBackbone(name, build, t);
