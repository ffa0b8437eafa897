/**
 * Errors that cross the API boundary. Both transports carry a plain envelope (`ApiResponse`), never a
 * thrown Error, so the code, the per-field issues and the hint survive IPC and HTTP unchanged and the
 * renderer can show them where the user acted.
 */
import type { ConfigIssue } from '../config/validation';

const API_ERROR_CODES = [
  /** Arguments of the wrong shape, type or range; `issues` names each field. */
  'invalid',
  /** An id that names nothing. */
  'not-found',
  /** Valid input the current state forbids (deleting a running run, resuming a completed one). */
  'conflict',
  /** Missing or wrong token, or an untrusted sender. */
  'unauthorized',
  /** The feature is not available in this build or transport (e.g. a native file dialog in a browser). */
  'unavailable',
  /** The work itself failed (an import that found no images, a checkpoint that cannot be read). */
  'failed',
  /** A bug: the message says what happened. */
  'internal',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

export interface ApiErrorData {
  code: ApiErrorCode;
  message: string;
  /** Per-field problems (config fields as `config.optim.lr`, arguments as `args.id`). */
  issues?: ConfigIssue[];
  /** What the user can do about it, in words. */
  hint?: string;
}

export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly issues: ConfigIssue[];
  readonly hint: string | undefined;

  constructor(data: ApiErrorData) {
    super(data.message);
    this.name = 'ApiError';
    this.code = data.code;
    this.issues = data.issues ?? [];
    this.hint = data.hint;
  }

  toJSON(): ApiErrorData {
    return {
      code: this.code,
      message: this.message,
      ...(this.issues.length ? { issues: this.issues } : {}),
      ...(this.hint ? { hint: this.hint } : {}),
    };
  }
}

export type ApiResponse<T> = { ok: true; value: T } | { ok: false; error: ApiErrorData };

function isApiErrorData(v: unknown): v is ApiErrorData {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.message === 'string' && (API_ERROR_CODES as readonly unknown[]).includes(o.code);
}

/** Unwraps an envelope: the value, or the ApiError it carries. Anything else is a protocol error. */
export function unwrapResponse<T>(response: unknown): T {
  if (typeof response === 'object' && response !== null && 'ok' in response) {
    const r = response as ApiResponse<T>;
    if (r.ok) return r.value;
    if (isApiErrorData(r.error)) throw new ApiError(r.error);
  }
  throw new ApiError({
    code: 'internal',
    message: 'the studio answered with something that is not an API response',
  });
}
