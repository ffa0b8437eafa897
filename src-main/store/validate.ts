/**
 * Input checks for repository methods. Each throws StoreError('invalid') naming the method and the
 * field (`createRun: totalSteps must be ...`), so a bad call is fixed at its source, not in SQLite's words.
 */
import type { JsonObject, JsonValue } from '../../shared/dto/json';
import { StoreError } from './errors';

const show = (v: unknown): string => {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (v === undefined) return 'undefined';
  try {
    const s = JSON.stringify(v);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return String(v);
  }
};

export const invalid = (where: string, field: string, problem: string, got: unknown): StoreError =>
  new StoreError('invalid', `${where}: ${field} ${problem}, got ${show(got)}`);

export function text(where: string, field: string, v: unknown): string {
  if (typeof v !== 'string' || v.trim() === '') throw invalid(where, field, 'must be a non-empty string', v);
  return v;
}

export function optText(where: string, field: string, v: unknown): string | null {
  return v === undefined || v === null ? null : text(where, field, v);
}

export function int(where: string, field: string, v: unknown, min = 0): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
    throw invalid(where, field, `must be a whole number ≥ ${min}`, v);
  return v;
}

export function optInt(where: string, field: string, v: unknown, min = 0): number | null {
  return v === undefined || v === null ? null : int(where, field, v, min);
}

export function finite(where: string, field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(where, field, 'must be a finite number', v);
  return v;
}

export function oneOf<T extends string>(where: string, field: string, v: unknown, choices: readonly T[]): T {
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v))
    throw invalid(where, field, `must be one of ${choices.join(', ')}`, v);
  return v as T;
}

export function list(where: string, field: string, v: unknown): unknown[] {
  if (!Array.isArray(v)) throw invalid(where, field, 'must be a list', v);
  return v;
}

export function record(where: string, field: string, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw invalid(where, field, 'must be an object', v);
  return v as Record<string, unknown>;
}

/** Checks that `v` survives JSON unchanged: NaN, undefined, functions or class instances would not. */
export function jsonValue(where: string, field: string, v: unknown): JsonValue {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return finite(where, field, v);
  if (Array.isArray(v)) {
    v.forEach((x, i) => jsonValue(where, `${field}[${i}]`, x));
    return v as JsonValue;
  }
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null)
      throw invalid(where, field, 'must be plain JSON data', v);
    for (const [k, x] of Object.entries(v)) jsonValue(where, `${field}.${k}`, x);
    return v as JsonValue;
  }
  throw invalid(where, field, 'must be plain JSON data', v);
}

export function jsonObject(where: string, field: string, v: unknown): JsonObject {
  record(where, field, v);
  return jsonValue(where, field, v) as JsonObject;
}
