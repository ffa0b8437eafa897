/**
 * Backbones by name (timm's / torchvision's registry idea): a builder is registered once under a
 * name, users pick it from a config string, and `listBackbones('resnet*')` tells them what exists.
 */
import { createResNet, RESNET_DEPTHS, type BackboneOptions, type ResNetName } from './resnet';
import type { Backbone } from './types';

export type { BackboneOptions } from './resnet';

export type BackboneBuilder = (options: Required<BackboneOptions>) => Backbone;

const builders = new Map<string, BackboneBuilder>();

export function registerBackbone(name: string, builder: BackboneBuilder): void {
  if (!/^[a-z][a-z0-9_.-]*$/.test(name)) {
    throw new Error(`registerBackbone: "${name}" is not a valid name (lowercase letters, digits, _ . -)`);
  }
  if (builders.has(name)) throw new Error(`registerBackbone: "${name}" is already registered`);
  builders.set(name, builder);
}

export function createBackbone(name: string, options: BackboneOptions = {}): Backbone {
  const builder = builders.get(name);
  if (!builder) {
    throw new Error(`Unknown backbone "${name}"; registered: ${listBackbones().join(', ')}`);
  }
  const baseWidth = options.baseWidth ?? 64;
  const seed = options.seed ?? 0;
  if (!Number.isInteger(baseWidth) || baseWidth < 1) {
    throw new Error(`Backbone "${name}": baseWidth must be a positive integer (got ${baseWidth})`);
  }
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

for (const name of Object.keys(RESNET_DEPTHS) as ResNetName[]) {
  registerBackbone(name, (options) => createResNet(name, options));
}
