/**
 * Turns whatever a handler threw into the API's error data: config errors keep their per-field
 * issues, store errors keep their code, anything else becomes `failed` with its message (the user
 * sees words, not a stack).
 */
import { ApiError, type ApiErrorData } from '../../../shared/api/errors';
import { ConfigError } from '../../../shared/config/validation';
import { StoreError } from '../../store';
import { RunHeldError } from '../run-claim';

const STORE_CODES = {
  'not-found': 'not-found',
  invalid: 'invalid',
  conflict: 'conflict',
  schema: 'failed',
} as const;

export function toApiError(e: unknown): ApiErrorData {
  if (e instanceof ApiError) return e.toJSON();
  if (e instanceof RunHeldError)
    return {
      code: 'conflict',
      message: e.message,
      hint: 'Pause, cancel or delete it where it runs, or wait for it to finish.',
    };
  if (e instanceof ConfigError)
    return {
      code: 'invalid',
      message: `The run config has ${e.issues.length} problem(s): ${e.message}`,
      issues: e.issues.map((i) => ({
        path: i.path.startsWith('config.') ? i.path : `config.${i.path}`,
        message: i.message,
      })),
      hint: 'Correct the highlighted fields and try again.',
    };
  // Store messages start with the function that threw ("getRun: run … does not exist"): the user
  // needs the rest.
  if (e instanceof StoreError)
    return { code: STORE_CODES[e.code], message: e.message.replace(/^[A-Za-z]+(\.[A-Za-z]+)?: /, '') };
  if (e instanceof Error) return { code: 'failed', message: e.message };
  return { code: 'internal', message: String(e) };
}

export const notFound = (message: string, hint?: string) =>
  new ApiError({ code: 'not-found', message, hint });
export const invalid = (message: string, hint?: string) => new ApiError({ code: 'invalid', message, hint });
export const conflict = (message: string, hint?: string) => new ApiError({ code: 'conflict', message, hint });
export const failed = (message: string, hint?: string) => new ApiError({ code: 'failed', message, hint });
export const unavailable = (message: string, hint?: string) =>
  new ApiError({ code: 'unavailable', message, hint });
