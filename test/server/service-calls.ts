/** Calling a StudioService the way the preload and the server do, for tests: answers or refusals. */
import { expect } from 'vitest';
import type { ApiResponse } from '../../shared/api/errors';
import type { ArgsOf, MethodName, ResultOf } from '../../shared/api/methods';
import type { StudioService } from '../../src-main/jobs/studio-service';

export interface Refusal {
  code: string;
  message: string;
  hint?: string;
  issues?: { path: string; message: string }[];
}

/** `service()` is read at each call: tests create the service in beforeAll. */
export function serviceCalls(service: () => StudioService) {
  /** The method's result; throws with the error's code and message when refused. */
  async function call<M extends MethodName>(method: M, args: ArgsOf<M>): Promise<ResultOf<M>> {
    const r = await service().handle(method, args);
    if (!r.ok) throw new Error(`${method}: ${r.error.code}: ${r.error.message}`);
    return r.value as ResultOf<M>;
  }
  /** The error of a call that must be refused (the test fails if it is not). */
  async function refusal(method: string, args: unknown): Promise<Refusal> {
    const r = (await service().handle(method, args)) as ApiResponse<unknown>;
    expect(r.ok, `${method} should have been refused`).toBe(false);
    return (r as { ok: false; error: Refusal }).error;
  }
  return { call, refusal };
}
