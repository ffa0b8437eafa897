/**
 * The machinery both run forms share (new pretraining run, new fine-tune): the schema's issues found
 * here merged with the ones only the studio can find (dataset sizes, files, checkpoints), asked for
 * 200 ms after the request stops changing; the issues of fields not on screen; when Start is enabled;
 * starting (a refused start shows its issues and its error); and the load of what the form picks from.
 */
import { computed, onMounted, reactive, ref, watch, type Ref } from 'vue';
import { backendOptions, webGpuHelp } from '../../shared/api/backend-choices';
import type { ConfigCheck } from '../../shared/api/types';
import type { ConfigIssue } from '../../shared/config/validation';
import type { RunRecord } from '../../shared/dto';
import { getPath, setPath } from '../lib/config-paths';
import { useRouter } from '../stores/router';
import { useRuns } from '../stores/runs';
import { useSystem } from '../stores/system';

export interface FormError {
  message: string;
  hint?: string;
}

/** A config field of a run form: a number input, or a select when it has options. */
export interface ConfigFieldSpec {
  /** The config path, e.g. `optim.lr`. */
  path: string;
  label: string;
  step?: number | 'any';
  help?: string;
  options?: readonly (string | { value: string; label: string })[];
}

export interface RunFormOptions<R> {
  /** The form's config object (reactive): what `read` and `write` address by dotted path. */
  form: object;
  /** What the studio validates: watched deeply, its checks asked for when it stops changing. */
  request: () => R;
  validate: (request: R) => Promise<ConfigCheck>;
  /** The schema's issues of the config (paths inside it: `optim.lr`). */
  configIssues: () => ConfigIssue[];
  /** Whether the picks a start needs are made (a dataset, a parent run…); issues are checked here. */
  picked: () => boolean;
  /** Whether a path has a field on screen; the others are listed under the form. */
  shown: (path: string) => boolean;
  submit: () => Promise<RunRecord>;
  /** The machine's recommended sizes into the form (on mount and from "Reset to defaults"). */
  applyRecommended: () => void;
  /** Loads what the form picks from (datasets, runs), then `loaded` makes the first picks. */
  load: () => Promise<unknown>;
  loaded: () => void;
}

export type RunForm = ReturnType<typeof useRunForm>;

export function useRunForm<R>(o: RunFormOptions<R>) {
  const system = useSystem();
  const runs = useRuns();
  const router = useRouter();

  const serverIssues = ref<ConfigIssue[]>([]);
  const totalSteps = ref<number | null>(null);
  const starting = ref(false);
  const startError: Ref<FormError | null> = ref(null);

  onMounted(async () => {
    if (!system.info) await system.load();
    o.applyRecommended();
    try {
      await o.load();
    } catch (e) {
      // Shown by the form, not thrown: the studio server may be down.
      startError.value = { message: (e as Error).message, hint: 'Is the studio running?' };
      return;
    }
    o.loaded();
  });

  /** The schema's issues, with paths as the studio names them (`config.optim.lr`). */
  const localIssues = computed(() =>
    o.configIssues().map((i) => ({ path: `config.${i.path}`, message: i.message })),
  );
  /** The form's issues, then the studio's that the form did not find itself. */
  const allIssues = computed(() => {
    const seen = new Set(localIssues.value.map((i) => i.path + i.message));
    return [...localIssues.value, ...serverIssues.value.filter((i) => !seen.has(i.path + i.message))];
  });
  /** The first issue of any of these paths (a field may stand for several, e.g. the image sizes). */
  const issueFor = (...paths: string[]) =>
    allIssues.value.find((i) => paths.includes(i.path))?.message ?? null;
  /** Problems with no field on screen (an advanced field while hidden, a field of another method). */
  const otherIssues = computed(() => allIssues.value.filter((i) => !o.shown(i.path)));
  const canStart = computed(() => o.picked() && allIssues.value.length === 0 && !starting.value);

  const request = computed(o.request);
  let validateTimer: ReturnType<typeof setTimeout> | undefined;
  watch(
    request,
    () => {
      clearTimeout(validateTimer);
      validateTimer = setTimeout(async () => {
        try {
          const r = await o.validate(request.value);
          serverIssues.value = r.issues;
          totalSteps.value = r.totalSteps;
        } catch (e) {
          // A check that failed without naming fields still blocks the start, and says why.
          const err = e as Error & { issues?: ConfigIssue[] };
          serverIssues.value = err.issues?.length ? err.issues : [{ path: 'request', message: err.message }];
          totalSteps.value = null;
        }
      }, 200);
    },
    { deep: true, immediate: true },
  );

  async function start(): Promise<void> {
    if (!canStart.value) return;
    starting.value = true;
    startError.value = null;
    try {
      const run = await o.submit();
      runs.upsert(run);
      router.go(`/runs/${run.id}`);
    } catch (e) {
      const err = e as Error & { hint?: string; issues?: ConfigIssue[] };
      if (err.issues?.length) serverIssues.value = err.issues;
      startError.value = { message: err.message, hint: err.hint };
    } finally {
      starting.value = false;
    }
  }

  /** A config value by dotted path (`optim.lr`). */
  const read = (path: string): unknown => getPath(o.form, path);
  /**
   * A field's text into the config: a number field's as a number ('' stays '': the schema names the
   * field as missing), a select's as it is.
   */
  function write(field: ConfigFieldSpec, raw: string): void {
    const value = field.options || raw === '' ? raw : Number(raw);
    setPath(o.form as Record<string, unknown>, field.path, value);
  }

  /**
   * The backend picker: the backends a run can ask for here ('auto' picks the fastest at start),
   * webgpu named by its adapter, and under it which GPU webgpu uses or why it cannot.
   */
  const backendField = computed<ConfigFieldSpec>(() => {
    const hardware = system.info?.hardware;
    return {
      path: 'backend',
      label: 'Backend',
      options: hardware ? backendOptions(hardware) : ['auto', 'wasm', 'cpu'],
      help: hardware ? webGpuHelp(hardware.webgpu) : undefined,
    };
  });

  // One reactive object: the views use its members in templates (`form.canStart`) with refs unwrapped.
  return reactive({
    allIssues,
    issueFor,
    otherIssues,
    totalSteps,
    canStart,
    starting,
    startError,
    start,
    read,
    write,
    backendField,
  });
}
