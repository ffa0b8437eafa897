/**
 * One client for both transports. A transport only knows how to send `(method, args)` and receive an
 * envelope, and how to deliver events; this turns it into the namespaced `StudioApi` the renderer uses
 * (`api.runs.start({...})`, `api.on('metrics.points', cb)` → unsubscribe). Arguments are checked here
 * first, so a bad call fails with the same per-field message in Electron and in a browser.
 */
import { ApiError, unwrapResponse } from './errors';
import type { ApiEvents, EventName } from './events';
import { argIssues, argIssuesMessage } from './arg-shape';
import {
  METHOD_ARGS,
  METHOD_NAMES,
  type ApiMethods,
  type ArgsOf,
  type MethodName,
  type ResultOf,
} from './methods';
import type { TransportKind } from './types';

export interface ApiTransport {
  readonly kind: TransportKind;
  /** Sends one request; resolves with the raw envelope (never rejects for API errors). */
  call(method: MethodName, args: unknown): Promise<unknown>;
  /** Delivers every event; returns the unsubscribe function. */
  subscribe(listener: (name: EventName, payload: unknown) => void): () => void;
}

type Namespace<M> = M extends `${infer NS}.${string}` ? NS : never;
export type ApiNamespace = Namespace<MethodName>;

type MethodsOf<NS extends string> = {
  [M in MethodName as M extends `${NS}.${infer F}` ? F : never]: (
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    ...args: {} extends ArgsOf<M> ? [args?: ArgsOf<M>] : [args: ArgsOf<M>]
  ) => Promise<ResultOf<M>>;
};

export type StudioApi = { [NS in ApiNamespace]: MethodsOf<NS> } & {
  /** Which transport carries the calls (`transport` itself is the transport-plan namespace). */
  readonly kind: TransportKind;
  on<E extends EventName>(name: E, listener: (payload: ApiEvents[E]) => void): () => void;
  call<M extends MethodName>(method: M, args: ArgsOf<M>): Promise<ResultOf<M>>;
};

export function createStudioClient(transport: ApiTransport): StudioApi {
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  let unsubscribeTransport: (() => void) | null = null;

  const ensureSubscribed = () => {
    if (unsubscribeTransport) return;
    unsubscribeTransport = transport.subscribe((name, payload) => {
      for (const l of listeners.get(name) ?? []) {
        try {
          l(payload);
        } catch (e) {
          // One broken view must not starve the others of events.
          console.error(`studio event ${name}:`, e);
        }
      }
    });
  };

  const call = async <M extends MethodName>(method: M, args: ArgsOf<M>): Promise<ResultOf<M>> => {
    const a = args ?? {};
    const issues = argIssues(a, METHOD_ARGS[method]);
    if (issues.length)
      throw new ApiError({
        code: 'invalid',
        message: argIssuesMessage(issues),
        issues,
      });
    return unwrapResponse<ResultOf<M>>(await transport.call(method, a));
  };

  const api: Record<string, unknown> = {
    kind: transport.kind,
    call,
    on(name: EventName, listener: (payload: unknown) => void) {
      ensureSubscribed();
      let set = listeners.get(name);
      if (!set) listeners.set(name, (set = new Set()));
      set.add(listener);
      return () => void set.delete(listener);
    },
  };
  for (const method of METHOD_NAMES) {
    const [ns, fn] = method.split('.') as [string, string];
    const target = (api[ns] ??= {}) as Record<string, unknown>;
    target[fn] = (args?: unknown) => call(method, args as ArgsOf<typeof method>);
  }
  return api as unknown as StudioApi;
}

export type { ApiMethods };
