/**
 * Argument shapes for API requests, built on the run-config validation vocabulary. Unlike a config,
 * request arguments have optional fields; unknown fields are still refused so a misspelt option
 * cannot silently do nothing.
 */
import {
  fieldIssues,
  shownValue,
  type Checker,
  type ConfigIssue,
  type OptionalField,
} from '../config/validation';

export type ArgField = OptionalField;

export type ArgShape = Record<string, ArgField>;

export const req = (check: Checker): ArgField => ({ check });
export const opt = (check: Checker): ArgField => ({ check, optional: true });

/** Issues of `value` against `shape`, with paths under `args.`. */
export function argIssues(value: unknown, shape: ArgShape): ConfigIssue[] {
  return fieldIssues(value, shape, 'args', 'is not a known argument');
}

/**
 * The one message for a request refused by its argument shape, as a user reads it: the fields as the
 * form names them ("count must be ≥ 2, got 1"), never the method or the `args.` prefix, which are
 * the code's names (the issues keep their full paths for programs).
 */
export function argIssuesMessage(issues: readonly ConfigIssue[]): string {
  const fields = issues.map((i) => `${i.path.replace(/^args\.?/, '') || 'the request'} ${i.message}`);
  return `invalid request: ${fields.join('; ')}`;
}

/** A plain JSON object of any content (config overrides; checked in depth by their own schema). */
export const plainObject: Checker = (v, path, issues) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    issues.push({ path, message: 'must be an object' });
};

/** A run id as the store makes them. */
export const runId: Checker = (v, path, issues) => {
  if (typeof v !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(v))
    issues.push({ path, message: `must be a run id (letters, digits, - and _), got ${shownValue(v)}` });
};

/** A file-system path: non-empty text without NUL bytes. */
export const fsPath: Checker = (v, path, issues) => {
  if (typeof v !== 'string' || v.trim() === '') issues.push({ path, message: 'must be a non-empty path' });
  else if (v.includes('\0')) issues.push({ path, message: 'must not contain NUL characters' });
  else if (v.length > 4096) issues.push({ path, message: 'is longer than 4096 characters' });
};

export const shortText =
  (max = 200): Checker =>
  (v, path, issues) => {
    if (typeof v !== 'string') issues.push({ path, message: `must be text, got ${shownValue(v)}` });
    else if (v.length > max) issues.push({ path, message: `must be at most ${max} characters` });
  };
