/**
 * A tiny, dependency-free validation vocabulary for run configs. Every error names the field
 * path and the problem, so the CLI, the API and the renderer can show it where the user acted.
 */
export interface ConfigIssue {
  path: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map((i) => `${i.path}: ${i.message}`).join('; '));
    this.name = 'ConfigError';
  }
}

export type Checker = (value: unknown, path: string, issues: ConfigIssue[]) => void;

/**
 * A value as an error message shows it: JSON, numbers as written (NaN and ±Infinity by name, which
 * JSON would show as null), cut to 60 characters so that a 100 000-character argument is not echoed
 * back whole, and never a throw (a circular or BigInt value from a structured-clone transport).
 */
export function shownValue(v: unknown): string {
  let s: string;
  if (typeof v === 'number' || typeof v === 'bigint') s = String(v);
  else if (v === undefined) s = 'nothing';
  else {
    try {
      s = JSON.stringify(v) ?? String(v);
    } catch {
      s = Object.prototype.toString.call(v);
    }
  }
  return s.length > 60 ? `${s.slice(0, 57)}… (${s.length} characters)` : s;
}

export const num =
  (opts: { min?: number; max?: number; int?: boolean; exclusiveMin?: boolean } = {}): Checker =>
  (v, path, issues) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      issues.push({ path, message: `must be a finite number, got ${shownValue(v)}` });
      return;
    }
    // One issue per field, naming every bound the value misses ("must be a whole number ≥ 4, got 3.5").
    const missed: string[] = [];
    if (opts.int && !Number.isInteger(v)) missed.push('a whole number');
    // Past 2^53 whole numbers are no longer exact (ids, seeds, counts): the store refuses them too.
    else if (opts.int && v > Number.MAX_SAFE_INTEGER && (opts.max ?? Infinity) > Number.MAX_SAFE_INTEGER)
      missed.push(`≤ ${Number.MAX_SAFE_INTEGER}`);
    else if (opts.int && v < Number.MIN_SAFE_INTEGER && (opts.min ?? -Infinity) < Number.MIN_SAFE_INTEGER)
      missed.push(`≥ ${Number.MIN_SAFE_INTEGER}`);
    if (opts.min !== undefined && (opts.exclusiveMin ? v <= opts.min : v < opts.min))
      missed.push(`${opts.exclusiveMin ? '>' : '≥'} ${opts.min}`);
    if (opts.max !== undefined && v > opts.max) missed.push(`≤ ${opts.max}`);
    if (missed.length) issues.push({ path, message: `must be ${missed.join(' ')}, got ${shownValue(v)}` });
  };

export const bool: Checker = (v, path, issues) => {
  if (typeof v !== 'boolean') issues.push({ path, message: `must be true or false, got ${shownValue(v)}` });
};

export const oneOf =
  <T extends string>(choices: readonly T[]): Checker =>
  (v, path, issues) => {
    if (typeof v !== 'string' || !choices.includes(v as T))
      issues.push({ path, message: `must be one of ${choices.join(', ')}, got ${shownValue(v)}` });
  };

export const str =
  (opts: { nonEmpty?: boolean } = {}): Checker =>
  (v, path, issues) => {
    if (typeof v !== 'string') issues.push({ path, message: `must be a string, got ${shownValue(v)}` });
    else if (opts.nonEmpty && v.trim() === '') issues.push({ path, message: 'must not be empty' });
  };

export const listOf =
  (item: Checker, opts: { minLength?: number } = {}): Checker =>
  (v, path, issues) => {
    if (!Array.isArray(v)) {
      issues.push({ path, message: `must be a list, got ${shownValue(v)}` });
      return;
    }
    if (opts.minLength !== undefined && v.length < opts.minLength)
      issues.push({ path, message: `must have at least ${opts.minLength} item(s)` });
    v.forEach((x, i) => item(x, `${path}[${i}]`, issues));
  };

export type Shape = Record<string, Checker>;

/** Checks an object against a shape; unknown keys are errors (a typo must not silently become a default). */
export function checkObject(value: unknown, shape: Shape, path: string, issues: ConfigIssue[]): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    issues.push({ path: path || '(root)', message: 'must be an object' });
    return;
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!(key in shape)) issues.push({ path: join(path, key), message: 'is not a known field' });
  }
  for (const [key, check] of Object.entries(shape)) {
    if (key in obj) check(obj[key], join(path, key), issues);
    else issues.push({ path: join(path, key), message: 'is required' });
  }
}

/** A field of a shape whose fields may be left out (API arguments, a cluster's settings). */
export interface OptionalField {
  check: Checker;
  optional?: boolean;
}

/**
 * Issues of `value` against `fields`, with paths under `root`: unknown fields are refused (`unknown`
 * says how) so a misspelt option cannot silently do nothing; an undefined field counts as left out.
 */
export function fieldIssues(
  value: unknown,
  fields: Readonly<Record<string, OptionalField>>,
  root: string,
  unknown = 'is not a known field',
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    issues.push({ path: root, message: 'must be an object' });
    return issues;
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj))
    if (!(key in fields)) issues.push({ path: `${root}.${key}`, message: unknown });
  for (const [key, field] of Object.entries(fields)) {
    const present = key in obj && obj[key] !== undefined;
    if (!present) {
      if (!field.optional) issues.push({ path: `${root}.${key}`, message: 'is required' });
      continue;
    }
    field.check(obj[key], `${root}.${key}`, issues);
  }
  return issues;
}

export const nested =
  (shape: Shape): Checker =>
  (v, path, issues) =>
    checkObject(v, shape, path, issues);

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

type Plain = Record<string, unknown>;

/** Deep-merges user overrides onto defaults (objects merge, everything else replaces). */
export function mergeDefaults<T>(defaults: T, overrides: unknown): unknown {
  if (!isPlain(overrides)) return overrides === undefined ? structuredClone(defaults) : overrides;
  const out: Plain = structuredClone(defaults) as Plain;
  for (const [k, v] of Object.entries(overrides)) {
    out[k] = isPlain(out[k]) && isPlain(v) ? mergeDefaults(out[k], v) : v;
  }
  return out;
}

function isPlain(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
