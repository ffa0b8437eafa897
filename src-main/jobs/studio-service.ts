/**
 * The one implementation of the studio API. Both transports (Electron IPC in src-main/app, HTTP +
 * WebSocket in src-main/server) hand it `(method, args)` and relay its events; neither contains
 * behaviour of its own. Every request is checked against the shared argument shapes here, whatever
 * the transport already checked, and answered with an envelope, never a throw.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { argIssues, argIssuesMessage } from '../../shared/api/arg-shape';
import { ApiError, type ApiResponse } from '../../shared/api/errors';
import type { StudioEvent } from '../../shared/api/events';
import {
  isMethodName,
  METHOD_ARGS,
  type ArgsOf,
  type MethodName,
  type ResultOf,
} from '../../shared/api/methods';
import type {
  CheckpointView,
  HardwareInfo,
  RunProgressInfo,
  SystemInfo,
  TransportKind,
} from '../../shared/api/types';
import type { JsonObject, RunExecution, RunRecord, WebGpuStatus } from '../../shared/dto';
import { openStore, type ExperimentStore, type SecretBox, type StoredRunExecution } from '../store';
import { RunManager } from './run-manager';
import type { RunEvent } from './run-events';
import type { WorkerSpawner } from './worker-process';
import { conflict, failed, invalid, notFound, toApiError, unavailable } from './service/api-errors';
import { readDatasetIndex, removeDatasetIndex } from './service/dataset-index';
import { importFromPath } from './service/dataset-import';
import { clearImportLeftovers } from './service/import-leftovers';
import { addDemoDataset, seedDemoDatasets } from './service/demo-datasets';
import { listDir } from './service/dir-listing';
import { detectHardware, withWebGpu } from './service/hardware';
import { finetuneDefaultsByDetector, pretrainDefaults } from '../../shared/config/run-defaults';
import { shownValue } from '../../shared/config/validation';
import { isPretrainMethod } from '../../shared/config/pretrain';
import {
  datasetSource,
  runSource,
  sourceName,
  preview,
  sourceFromIndex,
  sourceSize,
  thumbnail,
  transportImage,
} from './service/image-source';
import { imageBoxes } from './service/image-boxes';
import { metricsCsv } from './service/metrics-csv';
import { resolveNewFinetune } from './service/new-finetune';
import { notPretrainable, resolveNewRun } from './service/new-run';
import { appendRunLog, readRunLog } from './service/run-log';
import { runPredictions } from './service/run-predictions';
import { engineTasks, type StudioTasks } from './service/studio-tasks';
import { makeFolder } from '../engine/export/make-folder';
import { detectDatasetFormat } from '../engine/data/importers/import-dataset';
import { listVocSplits } from '../engine/data/importers/voc-importer';
import { backendInUse } from '../../shared/config/run-defaults';
import type { StudyDetails } from '../../shared/dto';
import type { SlurmExecutorOptions } from './slurm/slurm-executor';
import { StudyRunner } from './study/study-runner';
import { previewStudyPlan, type StudyPlan } from './study/study-plan';
import { estimateStudy } from './study/study-eta';
import { requireExecutor, slurmrestdPing, testCluster, type ClusterPing } from './service/cluster-check';

export interface StudioServiceOptions {
  /** Folder of the database, runs and dataset indexes. */
  home: string;
  transport: TransportKind;
  version: string;
  /** How training processes start (utilityProcess under Electron; child_process otherwise). */
  spawner?: WorkerSpawner;
  /** better_sqlite3.node built for Electron's ABI. */
  nativeBinding?: string;
  /** Seals cluster tokens with the OS's protection (the desktop app: safeStorage). */
  secrets?: SecretBox;
  tasks?: StudioTasks;
  /** A native open dialog (Electron). */
  pickPath?: (kind: 'folder' | 'file', title?: string) => Promise<string | null>;
  /** The transport accepts file uploads (browser mode). */
  uploads?: boolean;
  /** Add the demo datasets when the home folder is new (default true). */
  seedDemos?: boolean;
  /**
   * Finds whether webgpu runs where this studio starts runs (hardware.ts `probeWebGpu` with the same
   * spawner): the backend picker lists it with its adapter once the answer comes. None: not probed.
   * Called once, lazily: the first time the machine's description is needed (system.info, a run's or
   * a study's defaults), never at start, so a studio nobody looks at starts no GPU worker.
   */
  probeGpu?: () => Promise<WebGpuStatus>;
  /** Slurm executor tuning (poll intervals, the jobs' environment); tests give their own. */
  slurm?: SlurmExecutorOptions;
  /** Asks a cluster's slurmrestd whether it is up (the connection test); tests give their own. */
  pingCluster?: ClusterPing;
}

export type StudioEventListener = (event: StudioEvent) => void;

type Handlers = { [M in MethodName]: (args: ArgsOf<M>) => Promise<ResultOf<M>> | ResultOf<M> };

const EXPORT_EXT = { safetensors: '.safetensors', tfjs: '' } as const;

export class StudioService {
  private readonly listeners = new Set<StudioEventListener>();
  private readonly progress = new Map<string, RunProgressInfo>();
  /** The last status written to each run's log (status events repeat it when other fields change). */
  private readonly loggedStatus = new Map<string, RunRecord['status']>();
  private readonly tasks: StudioTasks;
  private readonly pingCluster: ClusterPing;
  private info: SystemInfo;
  readonly studies: StudyRunner;
  private readonly unsubscribe: (() => void)[] = [];
  private closed = false;
  /** Whether the GPU probe has been started (askGpu). */
  private gpuAsked = false;

  static open(options: StudioServiceOptions): StudioService {
    fs.mkdirSync(options.home, { recursive: true });
    const store = openStore(path.join(options.home, 'studio.db'), {
      ...(options.nativeBinding ? { nativeBinding: options.nativeBinding } : {}),
      ...(options.secrets ? { secrets: options.secrets } : {}),
    });
    try {
      // RunManager marks runs a crash left `running` as interrupted as it starts: note which, for their logs.
      const wasRunning = store.listRuns({ status: 'running' }).map((r) => r.id);
      const manager = new RunManager(store, {
        home: options.home,
        spawner: options.spawner,
        holder: `studio (${options.transport === 'electron' ? 'desktop' : 'browser mode'})`,
        // Runs sent to a cluster find its settings (with the token) here, on the main side only.
        clusters: (name) => store.clusterSettings(name),
        ...(options.slurm ? { slurm: options.slurm } : {}),
      });
      // …and a study none of whose runs still runs lost its driver: interrupted too, with a resume button.
      store.markInterruptedStudies();
      // The recorded ids are read once, at the first folder asked about (after the folder listing).
      let recorded: Set<number> | undefined;
      const leftovers = clearImportLeftovers(options.home, (id) =>
        (recorded ??= new Set(store.listDatasets().map((d) => d.id))).has(id),
      );
      if (leftovers.removed.length)
        console.warn(`studio: removed what interrupted imports left: ${leftovers.removed.join(', ')}`);
      const service = new StudioService(store, manager, options);
      // Runs executing on a cluster went on without us: follow their jobs again from where the
      // store's ingest offset stands, so their curves continue (nothing is read twice).
      for (const id of manager.followRemoteRuns())
        service.log(id, 'following its cluster job again (the studio restarted while it ran)');
      for (const id of wasRunning) {
        const run = store.getRun(id);
        if (run.status === 'interrupted')
          service.log(id, `status: interrupted (${run.error ?? 'the studio stopped while it trained'})`);
      }
      return service;
    } catch (e) {
      store.close();
      throw e;
    }
  }

  constructor(
    readonly store: ExperimentStore,
    readonly manager: RunManager,
    private readonly options: StudioServiceOptions,
  ) {
    this.tasks = options.tasks ?? engineTasks(options.spawner);
    this.pingCluster = options.pingCluster ?? slurmrestdPing;
    // `probing` from the start: whoever reads it first starts the probe (askGpu).
    this.info = this.systemInfo(detectHardware(options.probeGpu ? { state: 'probing' } : undefined));
    if (options.seedDemos !== false) seedDemoDatasets(options.home, store);
    this.studies = new StudyRunner(store, manager, {
      home: options.home,
      machine: () => this.hardware,
      spawner: options.spawner,
    });
    this.unsubscribe.push(manager.on((e) => this.onRunEvent(e)));
    this.unsubscribe.push(
      store.onChange((change) => {
        // Metric writes reach views as `metrics.points`; announcing each batch again would only make them refetch.
        if (change.tables.every((t) => t === 'metrics')) return;
        this.emit({ name: 'store.changed', payload: change });
      }),
    );
  }

  get home(): string {
    return this.options.home;
  }

  /** What this machine trains with (webgpu: as the probe last said; the first read starts the probe). */
  get hardware(): HardwareInfo {
    this.askGpu();
    return this.info.hardware;
  }

  /**
   * Starts the GPU probe the first time it is needed (one engine worker, a few seconds of Dawn's start):
   * its answer is kept for the life of this studio. Lazy rather than cached on disk, because what
   * decides the answer (drivers, Vulkan ICDs, SELFEMD_GPU, the GPU host) can change between starts
   * with nothing in the home folder to tell.
   */
  private askGpu(): void {
    if (this.gpuAsked || !this.options.probeGpu) return;
    this.gpuAsked = true;
    this.options.probeGpu().then(
      (webgpu) => this.setWebGpu(webgpu),
      (e: unknown) => this.setWebGpu({ state: 'unavailable', reason: `the GPU probe failed: ${String(e)}` }),
    );
  }

  private systemInfo(hardware: HardwareInfo): SystemInfo {
    return {
      version: this.options.version,
      transport: this.options.transport,
      home: this.options.home,
      hardware,
      recommended: pretrainDefaults(hardware),
      recommendedFinetune: finetuneDefaultsByDetector(hardware),
      nativePicker: !!this.options.pickPath,
      uploads: !!this.options.uploads,
    };
  }

  /** The GPU probe's answer: the listing (and the sizes `auto` gets) change, and views are told. */
  private setWebGpu(webgpu: WebGpuStatus): void {
    if (this.closed) return;
    this.info = this.systemInfo(withWebGpu(this.info.hardware, webgpu));
    this.emit({ name: 'system.changed', payload: this.info });
  }

  on(listener: StudioEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Answers one request. Never throws: failures come back as `{ ok: false, error }`. */
  async handle(method: unknown, args: unknown): Promise<ApiResponse<unknown>> {
    try {
      if (this.closed) throw unavailable('the studio is shutting down');
      if (!isMethodName(method))
        throw new ApiError({ code: 'invalid', message: `unknown method ${shownValue(method)}` });
      const a = args === undefined ? {} : args;
      const issues = argIssues(a, METHOD_ARGS[method]);
      if (issues.length)
        throw new ApiError({
          code: 'invalid',
          message: argIssuesMessage(issues),
          issues,
        });
      const handler = this.handlers[method] as (x: unknown) => unknown;
      return { ok: true, value: await handler(a) };
    } catch (e) {
      const error = toApiError(e);
      if (error.code === 'internal') console.error(`studio: ${String(method)} failed:`, e);
      return { ok: false, error };
    }
  }

  /** Pauses live runs (they resume later from their checkpoint) and closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Studies stop at their next slot and their live runs pause: nothing writes once the store closes.
    await this.studies.shutdown(() => this.manager.shutdown());
    for (const u of this.unsubscribe) u();
    this.listeners.clear();
    this.store.close();
  }

  // ------------------------------------------------------------------------------------------ events

  private emit(event: StudioEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A closed window or socket must not stop the others.
      }
    }
  }

  private log(runId: string, message: string): void {
    const line = { at: Date.now(), message };
    appendRunLog(this.manager.runDir(runId), line);
    this.emit({ name: 'runs.log', payload: { runId, line } });
  }

  private onRunEvent(e: RunEvent): void {
    switch (e.type) {
      case 'status':
        if (e.run.status !== 'running') this.progress.delete(e.run.id);
        // A status event also carries other changes (the backend a run got): log status changes only.
        if (this.store.hasRun(e.run.id) && this.loggedStatus.get(e.run.id) !== e.run.status) {
          this.loggedStatus.set(e.run.id, e.run.status);
          this.log(
            e.run.id,
            `status: ${e.run.status}${e.run.error && e.run.status !== 'running' ? ` (${e.run.error})` : ''}`,
          );
        }
        this.emit({ name: 'runs.status', payload: { run: e.run } });
        break;
      case 'progress': {
        const progress: RunProgressInfo = { ...e.progress, at: Date.now() };
        this.progress.set(e.runId, progress);
        this.emit({ name: 'runs.progress', payload: { runId: e.runId, progress } });
        break;
      }
      case 'metrics':
        this.emit({ name: 'metrics.points', payload: { runId: e.runId, points: e.points } });
        break;
      case 'checkpoint':
        this.emit({ name: 'runs.checkpoint', payload: { runId: e.runId, checkpoint: e.checkpoint } });
        break;
      case 'log':
        this.log(e.runId, e.message);
        break;
    }
  }

  // ---------------------------------------------------------------------------------------- handlers

  private readonly handlers: Handlers = {
    'system.info': () => {
      this.askGpu();
      return this.info;
    },
    'system.listDir': (a) => listDir(a.path, a.showFiles ?? false),
    'system.pickPath': async (a) => {
      if (!this.options.pickPath)
        throw unavailable(
          'there is no native file dialog in browser mode',
          'Browse the folders of the studio machine instead.',
        );
      return { path: await this.options.pickPath(a.kind, a.title) };
    },

    'datasets.list': () => this.store.listDatasets(),
    'datasets.get': (a) => {
      const dataset = this.store.getDataset(a.id);
      const index = readDatasetIndex(this.home, a.id);
      return {
        dataset,
        categoryCounts: index?.categoryCounts ?? [],
        pretrainable: notPretrainable(this.home, dataset) === null,
      };
    },
    'datasets.images': (a) => {
      const dataset = this.store.getDataset(a.id);
      const index = readDatasetIndex(this.home, a.id);
      if (!index) throw failed(`dataset "${dataset.name}" has no image index`, 'Import it again.');
      const offset = a.offset ?? 0;
      const images = index.images.slice(offset, offset + (a.limit ?? 100)).map((im, i) => ({
        index: offset + i,
        name: im.file,
        width: im.width,
        height: im.height,
        annotations: im.annotations,
      }));
      return { total: index.images.length, images };
    },
    'datasets.thumbnail': async (a) => ({
      dataUrl: await thumbnail(datasetSource(this.home, this.store.getDataset(a.id)), a.index, a.size ?? 96),
    }),
    'datasets.image': async (a) => {
      const dataset = this.store.getDataset(a.id);
      const index = readDatasetIndex(this.home, a.id);
      if (!index) throw failed(`dataset "${dataset.name}" has no image index`, 'Import it again.');
      const im = index.images[a.index];
      if (!im)
        throw notFound(
          `image ${a.index} does not exist ("${dataset.name}" has ${index.images.length} images)`,
        );
      const names = new Map(dataset.categories.map((c) => [c.id, c.name]));
      const boxes = imageBoxes(this.home, dataset.id, index, a.index);
      return {
        index: a.index,
        name: im.file,
        width: im.width,
        height: im.height,
        annotations: im.annotations,
        dataUrl: await preview(sourceFromIndex(index), a.index, a.size ?? 640, im),
        boxesKnown: boxes !== null,
        boxes: (boxes ?? []).map(([x, y, w, h, categoryId, clipped]) => ({
          bbox: [x, y, w, h] as [number, number, number, number],
          categoryId,
          category: names.get(categoryId) ?? String(categoryId),
          clipped: clipped === 1,
        })),
      };
    },
    'datasets.import': async (a) => {
      const importId = a.importId ?? `import-${Date.now()}`;
      const progress = (
        phase: Parameters<Parameters<typeof importFromPath>[3]>[0],
        done: number,
        total: number,
        message: string,
      ) => this.emit({ name: 'datasets.importProgress', payload: { importId, phase, done, total, message } });
      try {
        return await importFromPath(this.home, this.store, a, progress);
      } catch (e) {
        progress('failed', 0, 0, e instanceof Error ? e.message : String(e));
        throw e;
      }
    },
    'datasets.addDemo': (a) => addDemoDataset(this.home, this.store, a),
    'datasets.delete': (a) => {
      const dataset = this.store.getDataset(a.id);
      const users = this.store.listRuns({ datasetId: a.id });
      if (users.length)
        throw conflict(
          `dataset "${dataset.name}" is used by ${users.length} run(s) (${users
            .slice(0, 3)
            .map((r) => `"${r.name}"`)
            .join(', ')}${users.length > 3 ? ', …' : ''})`,
          'Delete those runs first.',
        );
      this.store.deleteDataset(a.id);
      removeDatasetIndex(this.home, a.id);
      return {};
    },

    'datasets.splits': async (a) => {
      const format = await detectDatasetFormat(a.path).catch(() => null);
      return { format, splits: format === 'voc' ? await listVocSplits(a.path) : [] };
    },

    'runs.list': () => this.store.listRuns(),
    'runs.get': (a) => {
      const run = this.store.getRun(a.id);
      const checkpoints: CheckpointView[] = this.store
        .listCheckpoints(a.id)
        .map((c) => ({ ...c, onDisk: fs.existsSync(c.path) }));
      let dataset = null;
      if (run.datasetId !== null) {
        try {
          dataset = this.store.getDataset(run.datasetId);
        } catch {
          dataset = null;
        }
      }
      return {
        run,
        checkpoints,
        evaluations: this.store.listEvaluations(a.id),
        artifacts: this.store.listArtifacts(a.id),
        progress: this.progress.get(a.id) ?? null,
        live: this.manager.isLive(a.id),
        log: readRunLog(this.manager.runDir(a.id)),
        dataset,
        execution: publicExecution(this.store.getExecution(a.id)),
      };
    },
    'runs.validate': (a) => {
      const dataset = a.datasetId !== undefined ? this.store.getDataset(a.datasetId) : null;
      const r = resolveNewRun(this.home, a.method, a.config, dataset, this.hardware);
      return { issues: r.issues, totalSteps: r.totalSteps };
    },
    'runs.start': (a) => this.startRun(a),
    'runs.validateFinetune': (a) => {
      const r = resolveNewFinetune(this.home, this.store, a, this.hardware);
      return { issues: r.issues, totalSteps: r.totalSteps };
    },
    'runs.startFinetune': (a) => this.startFinetune(a),
    'runs.pause': async (a) => {
      const run = this.store.getRun(a.id);
      this.manager.claims.refuseIfHeld(a.id, 'pause');
      if (!this.manager.isLive(a.id))
        throw conflict(`run "${run.name}" is not running (it is ${run.status})`);
      return this.manager.pause(a.id);
    },
    'runs.resume': (a) => {
      const run = this.store.getRun(a.id);
      if (this.manager.isLive(a.id)) throw conflict(`run "${run.name}" is already running`);
      if (run.method === 'random-init')
        throw conflict(`"${run.name}" is a random-init baseline: it has nothing to train`);
      if (run.status === 'completed')
        throw conflict(
          `run "${run.name}" has completed; there is nothing to resume`,
          'Start a new run with more epochs.',
        );
      if (!this.store.lastCheckpoint(a.id))
        throw conflict(
          `run "${run.name}" has no checkpoint to resume from`,
          'Start a new run with the same config instead.',
        );
      return this.manager.resume(a.id);
    },
    'runs.cancel': async (a) => {
      const run = this.store.getRun(a.id);
      if (run.status === 'completed') throw conflict(`run "${run.name}" has already completed`);
      return this.manager.cancel(a.id);
    },
    'runs.delete': async (a) => {
      this.store.getRun(a.id);
      await this.manager.delete(a.id);
      this.progress.delete(a.id);
      return {};
    },
    'runs.progress': () => Object.fromEntries(this.progress),
    'runs.predictions': (a) =>
      runPredictions(this.store, this.home, this.manager.trainingDir(a.id), { ...a, runId: a.id }),

    'metrics.get': (a) => {
      this.store.getRun(a.runId);
      return this.store.getMetrics(a.runId, a.keys, { sinceStep: a.sinceStep, maxPoints: a.maxPoints });
    },
    'metrics.compare': (a) => this.store.getRunsForCompare(a.runIds),
    'metrics.csv': (a) => metricsCsv(this.store, a.runIds, a.keys),

    'transport.images': async (a) => {
      const source = await runSource(this.home, this.store, this.store.getRun(a.runId));
      const offset = a.offset ?? 0;
      const end = Math.min(sourceSize(source), offset + (a.limit ?? 24));
      const images = [];
      for (let i = offset; i < end; i++)
        images.push({ index: i, name: sourceName(source, i), thumbnail: await thumbnail(source, i, 64) });
      return { total: sourceSize(source), images };
    },
    'transport.compute': async (a) => {
      const run = this.store.getRun(a.runId);
      if (!isPretrainMethod(run.method))
        throw conflict(`"${run.name}" has no trained weights to compute a transport plan with`);
      this.requireCheckpoint(run, a.step);
      const source = await runSource(this.home, this.store, run);
      const result = await this.tasks.computeTransport(this.home, this.store, {
        runId: a.runId,
        step: a.step,
        image: transportImage(source, a.imageIndex),
        seed: a.seed,
        grid: a.grid,
      });
      return {
        ...result,
        crops: [result.crops[0], result.crops[1]],
        boxes: [result.boxes[0], result.boxes[1]],
      };
    },

    'exports.run': async (a) => {
      const run = this.store.getRun(a.runId);
      this.requirePretrain(run);
      const step = this.requireCheckpoint(run, a.step);
      // A relative path would land wherever the server happens to run.
      if (a.outPath && !path.isAbsolute(a.outPath))
        throw invalid(`${a.outPath} is not an absolute path`, 'Give the full path of the destination.');
      const outPath = a.outPath ? path.resolve(a.outPath) : this.defaultExportPath(run, a.format, step, true);
      if (a.outPath && fs.existsSync(outPath))
        throw conflict(
          `${outPath} already exists`,
          'Choose another destination, or delete the existing file first.',
        );
      makeFolder(path.dirname(outPath));
      const result = await this.tasks.exportBackbone(this.home, this.store, {
        runId: a.runId,
        step,
        format: a.format,
        outPath,
      });
      const kind = result.format === 'tfjs' ? 'export-tfjs' : 'export-safetensors';
      let artifact =
        this.store
          .listArtifacts(a.runId, kind)
          .find((x) => path.resolve(x.path) === path.resolve(result.path)) ?? null;
      artifact ??= this.store.addArtifact({
        runId: a.runId,
        kind,
        path: result.path,
        meta: {
          bytes: result.bytes,
          checkpointStep: result.checkpointStep,
          backbone: run.backbone,
        } as JsonObject,
      });
      this.log(
        a.runId,
        `exported the backbone (step ${result.checkpointStep}, ${result.format}) to ${result.path}`,
      );
      return { ...result, artifact };
    },
    'exports.list': (a) => {
      const runs = a.runId ? [this.store.getRun(a.runId)] : this.store.listRuns();
      return runs
        .flatMap((r) =>
          this.store
            .listArtifacts(r.id)
            .filter((x) => x.kind === 'export-tfjs' || x.kind === 'export-safetensors'),
        )
        .sort((x, y) => y.createdAt - x.createdAt);
    },
    'exports.defaultPath': (a) => {
      const run = this.store.getRun(a.runId);
      this.requirePretrain(run);
      return { path: this.defaultExportPath(run, a.format, this.requireCheckpoint(run, a.step), true) };
    },

    'studies.list': () => this.store.listStudies(),
    'studies.get': (a) => this.studyDetails(a.id),
    // A ConfigError (a bad arm, budget or dataset) comes back as `invalid`, naming the field.
    'studies.start': (a) => {
      requireExecutor(this.store, a.on);
      return this.studies.start(a);
    },
    'studies.estimate': async (a) => {
      requireExecutor(this.store, a.on);
      // A preview: an estimate records no dataset (a demo split or a path not imported yet is only read).
      const plan = await previewStudyPlan(this.home, this.store, this.hardware, a);
      return estimateStudy(this.store, plan, backendInUse(this.hardware, a.backend));
    },
    'studies.pause': async (a) => {
      const study = this.store.getStudy(a.id);
      if (!this.studies.isLive(a.id))
        throw conflict(`study "${study.name}" is not running here (it is ${study.status})`);
      return this.studies.pause(a.id);
    },
    'studies.resume': (a) => {
      const study = this.store.getStudy(a.id);
      if (this.studies.isLive(a.id)) throw conflict(`study "${study.name}" is already running`);
      if (study.status === 'completed')
        throw conflict(`study "${study.name}" has completed; there is nothing to resume`);
      if (study.status === 'running')
        throw conflict(
          `study "${study.name}" is running in another process (a selfemd study command)`,
          'Pause it there (Ctrl-C), then resume it here.',
        );
      return this.studies.resume(a.id);
    },

    'clusters.list': () => this.store.listClusters(),
    'clusters.save': (a) => {
      const { token, ...settings } = a;
      // An empty token removes the stored one; left out, the stored one stays.
      return this.store.saveCluster({ ...settings, kind: 'slurm', token: token === '' ? null : token });
    },
    'clusters.remove': (a) => {
      this.store.getCluster(a.name);
      const using = this.store
        .listRuns({ status: ['running', 'queued'] })
        .filter((r) => this.store.getExecution(r.id)?.executor === a.name);
      if (using.length)
        throw conflict(
          `cluster "${a.name}" is executing ${using.length} run(s) (${using
            .slice(0, 3)
            .map((r) => `"${r.name}"`)
            .join(', ')}${using.length > 3 ? ', …' : ''})`,
          'Pause or cancel them first.',
        );
      this.store.removeCluster(a.name);
      return {};
    },
    'clusters.test': (a) => testCluster(this.store.clusterSettings(a.name), this.pingCluster),
  };

  // ----------------------------------------------------------------------------------------- helpers

  /** A study with its arms × seeds grid (each slot's run and status), its probes and what is left. */
  private studyDetails(id: string): StudyDetails {
    const study = this.store.getStudy(id);
    const plan = study.config as unknown as StudyPlan;
    const links = this.store.studyRuns(id);
    const cell = (arm: string, role: 'pretrain' | 'finetune', seed: number | null) => {
      const link = links.find((l) => l.arm === arm && l.role === role && l.seed === seed);
      const run = link && this.store.hasRun(link.runId) ? this.store.getRun(link.runId) : null;
      const live = run ? this.progress.get(run.id) : undefined;
      return {
        arm,
        role,
        seed,
        runId: run?.id ?? null,
        status: run?.status ?? 'pending',
        step: live?.step ?? run?.step ?? 0,
        totalSteps: run?.totalSteps ?? (role === 'pretrain' ? plan.steps.pretrain : plan.steps.finetune),
      };
    };
    const cells = [
      ...plan.arms.filter((a) => a.kind === 'ssl').map((a) => cell(a.name, 'pretrain', null)),
      ...plan.arms.flatMap((a) => plan.seeds.map((_, s) => cell(a.name, 'finetune', s))),
    ];
    const backend = backendInUse(this.hardware, plan.finetune.backend);
    return {
      study,
      cells,
      probes: this.store
        .studyProbes(id)
        .map((p) => ({ arm: p.arm, seed: p.seed, linearTop1: p.stats.linearTop1 })),
      etaSeconds: study.status === 'completed' ? 0 : estimateStudy(this.store, plan, backend, links).seconds,
      live: this.studies.isLive(id),
    };
  }

  private startRun(a: ArgsOf<'runs.start'>): RunRecord {
    const on = requireExecutor(this.store, a.on);
    const dataset = this.store.getDataset(a.datasetId);
    const r = resolveNewRun(this.home, a.method, a.config, dataset, this.hardware);
    if (r.issues.length || !r.config)
      throw new ApiError({
        code: 'invalid',
        message: `the run cannot start: ${r.issues.map((i) => `${i.path} ${i.message}`).join('; ')}`,
        issues: r.issues,
        hint: 'Correct the highlighted fields.',
      });
    const name = a.name?.trim() || undefined;
    if (a.method === 'random-init') {
      // A baseline arm: the config (backbone, width, seed) is what the detector will initialise from.
      const config = { ...r.config, method: 'random-init' } as unknown as JsonObject;
      const run = this.store.createRun({
        kind: 'pretrain',
        name: name ?? `random-init ${r.config.backbone.name}`,
        method: 'random-init',
        backbone: r.config.backbone.name,
        datasetId: dataset.id,
        config,
        totalSteps: 0,
      });
      this.store.updateRunStatus(run.id, 'running', { pid: null });
      const done = this.store.updateRunStatus(run.id, 'completed', { pid: null });
      this.log(
        run.id,
        'random-init baseline recorded: no pretraining; a detector starts from seeded random weights',
      );
      this.emit({ name: 'runs.status', payload: { run: done } });
      return done;
    }
    return this.manager.startPretrain(r.config, { name, datasetId: dataset.id, on });
  }

  private startFinetune(a: ArgsOf<'runs.startFinetune'>): RunRecord {
    const on = requireExecutor(this.store, a.on);
    const r = resolveNewFinetune(this.home, this.store, a, this.hardware);
    if (r.issues.length || !r.config || !r.val)
      throw new ApiError({
        code: 'invalid',
        message: `the fine-tune cannot start: ${r.issues.map((i) => `${i.path} ${i.message}`).join('; ')}`,
        issues: r.issues,
        hint: 'Correct the highlighted fields.',
      });
    const c = r.config;
    const name =
      a.name?.trim() ||
      (r.parent
        ? `${c.detector} ← ${r.parent.name}`
        : c.init.kind === 'random'
          ? `${c.detector} ${c.backbone.name} (random init)`
          : `${c.detector} ← ${path.basename(c.init.path)}`);
    const run = this.manager.startFinetune(c, {
      name,
      datasetId: r.val.id,
      trainDatasetId: r.train?.id ?? null,
      parentRunId: r.parent?.id ?? null,
      totalSteps: r.totalSteps,
      on,
    });
    this.log(
      run.id,
      `fine-tune ${c.detector}: backbone from ${r.initDescription}; train "${r.train?.name}", evaluated on "${r.val.name}"`,
    );
    return run;
  }

  private requirePretrain(run: RunRecord): void {
    if (run.kind !== 'pretrain')
      throw conflict(
        `"${run.name}" is a ${run.kind} run: only a pretraining run's backbone is exported`,
        'Open its pretraining parent to export the backbone.',
      );
  }

  /** The checkpoint step to use (the last one when not given); refuses runs without one. */
  private requireCheckpoint(run: RunRecord, step: number | undefined): number {
    const checkpoints = this.store.listCheckpoints(run.id);
    if (checkpoints.length === 0)
      throw conflict(
        `run "${run.name}" has no checkpoint yet`,
        'Wait for the first checkpoint, or resume the run.',
      );
    if (step === undefined) {
      const last = this.store.lastCheckpoint(run.id) ?? checkpoints[checkpoints.length - 1]!;
      return last.step;
    }
    const c = checkpoints.find((x) => x.step === step);
    if (!c)
      throw notFound(
        `run "${run.name}" has no checkpoint at step ${step}`,
        `Its checkpoints are at steps ${checkpoints.map((x) => x.step).join(', ')}.`,
      );
    if (!fs.existsSync(c.path))
      throw failed(
        `the checkpoint of step ${step} was removed from disk (${c.path})`,
        'Pick a newer checkpoint.',
      );
    return step;
  }

  private defaultExportPath(
    run: RunRecord,
    format: 'safetensors' | 'tfjs',
    step: number,
    unique: boolean,
  ): string {
    const slug =
      run.name
        .replace(/[^A-Za-z0-9._-]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 40) || 'run';
    const base = path.join(this.home, 'exports', `${slug}-${run.id.slice(0, 8)}-step${step}-${run.backbone}`);
    let candidate = `${base}${EXPORT_EXT[format]}`;
    for (let i = 2; unique && fs.existsSync(candidate); i++) candidate = `${base}-${i}${EXPORT_EXT[format]}`;
    return candidate;
  }
}

/** A run's execution as views see it: the scheduler's words, not the supervisor's bookkeeping. */
function publicExecution(e: StoredRunExecution | null): RunExecution | null {
  if (!e) return null;
  const { runId, executor, jobId, state, reason, updatedAt } = e;
  return {
    runId,
    executor,
    updatedAt,
    ...(jobId ? { jobId } : {}),
    ...(state ? { state } : {}),
    ...(reason ? { reason } : {}),
  };
}
