/**
 * The transport view's state and its link: which run, checkpoint, pyramid level, seed and image; the
 * run's checkpoints and a page of its images; the plan the worker computed for them. The view's state
 * is written to the URL (`#/transport?run=…&step=…&grid=…&seed=…&image=…`) as each plan is asked for,
 * and a changed link is followed while the view is open.
 */
import { computed, onBeforeUnmount, onMounted, reactive, ref, watch } from 'vue';
import type { CheckpointView, TransportImage, TransportPlan } from '../../shared/api/types';
import { DEFAULT_PRETRAIN_CONFIG, isPretrainMethod } from '../../shared/config/pretrain';
import type { RunRecord } from '../../shared/dto';
import { api } from '../api/studio';
import { pyramidGridChoices } from '../lib/pyramid-grids';
import type { FormError } from './useRunForm';
import { useRouter } from '../stores/router';
import { useRuns } from '../stores/runs';

export const IMAGE_PAGE = 24;

export function useTransportPlan() {
  const router = useRouter();
  const runs = useRuns();

  const trainedRuns = computed(() => runs.list.filter((r) => isPretrainMethod(r.method) && r.step > 0));
  const runId = ref<string>(router.route.query.run ?? '');
  const checkpoints = ref<CheckpointView[]>([]);
  const step = ref<number | null>(router.route.query.step ? Number(router.route.query.step) : null);
  /** Pyramid grid; 0 is the full dense map. */
  const grid = ref<number>(Number(router.route.query.grid ?? -1));
  const seed = ref<number>(Number(router.route.query.seed ?? 1));
  const imageIndex = ref<number>(Number(router.route.query.image ?? 0));
  const images = ref<TransportImage[]>([]);
  const imageTotal = ref(0);
  const imageOffset = ref(0);
  const plan = ref<TransportPlan | null>(null);
  const computing = ref(false);
  const elapsed = ref(0);
  const error = ref<FormError | null>(null);

  /** The run as fetched with its checkpoints: its config is known before the runs list has loaded. */
  const fetched = ref<RunRecord | null>(null);
  const run = computed<RunRecord | undefined>(
    () => runs.byId.get(runId.value) ?? (fetched.value?.id === runId.value ? fetched.value : undefined),
  );
  const runConfig = computed(
    () => run.value?.config as { data?: { imageSize?: number }; emd?: { spcGrids?: number[] } } | undefined,
  );
  /** The levels the run offers, from its own grids and image size (unsized until its config is known). */
  const pyramid = computed(() => {
    const size = Number(runConfig.value?.data?.imageSize);
    const grids = runConfig.value?.emd?.spcGrids ?? DEFAULT_PRETRAIN_CONFIG.emd.spcGrids;
    return pyramidGridChoices(size > 0 ? size : null, grids);
  });
  const known = computed(() => pyramid.value.mapSide !== null);
  const gridAllowed = (g: number) => pyramid.value.allowed.includes(g);
  const gridOptions = computed(() => pyramid.value.choices);
  // A reload or a link may name a level this run's map cannot give (or none): once its config is known,
  // fall back to the largest level it allows (the full map when it has none). Changing the grid
  // schedules the computation.
  watch(
    [pyramid, grid],
    () => {
      if (known.value && !gridAllowed(grid.value)) grid.value = pyramid.value.allowed[0]!;
    },
    { immediate: true },
  );

  onMounted(async () => {
    error.value = await runs.ensureLoaded();
    if (error.value) return;
    if (!runId.value || !runs.byId.has(runId.value)) runId.value = trainedRuns.value[0]?.id ?? '';
  });

  watch(
    runId,
    async (id, old) => {
      plan.value = null;
      checkpoints.value = [];
      images.value = [];
      if (!id) return;
      if (old) {
        // A link names its checkpoint and image (see the query watch below); a run picked in the list
        // starts at its last checkpoint and first image.
        const q = router.route.query;
        const linked = q.run === id;
        step.value = linked && q.step ? Number(q.step) : null;
        imageIndex.value = linked ? Number(q.image ?? 0) : 0;
        imageOffset.value = 0;
      }
      try {
        const d = await api.runs.get({ id });
        if (id !== runId.value) return;
        fetched.value = d.run;
        checkpoints.value = d.checkpoints.filter((c) => c.onDisk);
        if (step.value === null || !checkpoints.value.some((c) => c.step === step.value))
          step.value = checkpoints.value[checkpoints.value.length - 1]?.step ?? null;
        await loadImages();
        scheduleCompute();
      } catch (e) {
        error.value = { message: (e as Error).message };
      }
    },
    { immediate: true },
  );

  // A changed link (#/transport?run=…&step=…) while this view is open is followed. compute() writes the
  // view's state back with replaceQuery: those values equal what it holds, so nothing here recomputes.
  watch(
    () => router.route.query,
    (q) => {
      if (router.route.name !== 'transport') return;
      const newRun = !!q.run && q.run !== runId.value;
      // A new run takes the link's step and image in its own watch.
      if (newRun) runId.value = q.run!;
      else {
        const linkedStep = Number(q.step);
        if (linkedStep !== step.value && checkpoints.value.some((c) => c.step === linkedStep))
          step.value = linkedStep;
        if (q.image && Number(q.image) !== imageIndex.value) imageIndex.value = Number(q.image);
      }
      if (q.grid && Number(q.grid) !== grid.value) grid.value = Number(q.grid);
      if (q.seed && Number(q.seed) !== seed.value) {
        seed.value = Number(q.seed);
        if (!newRun) scheduleCompute();
      }
    },
  );

  async function loadImages(): Promise<void> {
    const page = await api.transport.images({
      runId: runId.value,
      offset: imageOffset.value,
      limit: IMAGE_PAGE,
    });
    images.value = page.images;
    imageTotal.value = page.total;
  }

  let clock: ReturnType<typeof setInterval> | undefined;
  let requestNo = 0;
  let inFlight = '';
  async function compute(): Promise<void> {
    if (!runId.value || step.value === null || !known.value || !gridAllowed(grid.value)) return;
    // A computation scheduled just before leaving the view must not write its query onto the next one.
    if (router.route.name !== 'transport') return;
    // A new run schedules once for its step and grid and once more after its images: one plan is enough.
    const key = JSON.stringify([runId.value, step.value, grid.value, seed.value, imageIndex.value]);
    if (computing.value && key === inFlight) return;
    inFlight = key;
    const mine = ++requestNo;
    computing.value = true;
    error.value = null;
    elapsed.value = 0;
    const t0 = Date.now();
    clearInterval(clock);
    clock = setInterval(() => (elapsed.value = (Date.now() - t0) / 1000), 200);
    router.replaceQuery({
      run: runId.value,
      step: String(step.value),
      grid: String(grid.value),
      seed: String(seed.value),
      image: String(imageIndex.value),
    });
    try {
      const result = await api.transport.compute({
        runId: runId.value,
        imageIndex: imageIndex.value,
        seed: seed.value,
        step: step.value,
        grid: grid.value > 0 ? grid.value : undefined,
      });
      if (mine === requestNo) plan.value = result;
    } catch (e) {
      if (mine === requestNo)
        error.value = { message: (e as Error).message, hint: (e as { hint?: string }).hint };
    } finally {
      if (mine === requestNo) {
        computing.value = false;
        clearInterval(clock);
      }
    }
  }
  onBeforeUnmount(() => clearInterval(clock));

  /** Several inputs change together (a new run sets step and grid): compute once for all of them. */
  let pending: ReturnType<typeof setTimeout> | undefined;
  function scheduleCompute(): void {
    clearTimeout(pending);
    pending = setTimeout(() => void compute(), 0);
  }
  watch([step, grid, imageIndex], scheduleCompute);

  /** Two new random crops of the same image. */
  function reroll(): void {
    seed.value = (seed.value * 1103515245 + 12345) % 2147483647;
    void compute();
  }
  async function pageImages(delta: number): Promise<void> {
    imageOffset.value = Math.max(0, imageOffset.value + delta * IMAGE_PAGE);
    await loadImages();
  }

  // One reactive object: the view binds its members (`v-model="transport.step"`) with refs unwrapped.
  return reactive({
    trainedRuns,
    run,
    runId,
    checkpoints,
    step,
    grid,
    gridOptions,
    seed,
    imageIndex,
    images,
    imageTotal,
    imageOffset,
    plan,
    computing,
    elapsed,
    error,
    reroll,
    pageImages,
  });
}
