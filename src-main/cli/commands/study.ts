/**
 * `selfemd study`: compares backbone arms on the user's data in one command — the SSL arms'
 * pretrainings, every arm × seed fine-tune with its evaluation, every arm's probe, then the table
 * (mean ± sd over seeds, paired differences to byol and random with bootstrap intervals), written as
 * Markdown, CSV and JSON in the study folder. Runs are recorded in the studio's store as they train
 * (the studio shows them); Ctrl-C pauses the study at a checkpoint, `--resume ID` continues it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { STUDY_BUDGETS, type StudyBudget } from '../../../shared/config/study';
import { DETECTOR_NAMES } from '../../../shared/config/finetune';
import { BACKEND_CHOICES, type BackendChoice } from '../../../shared/config/pretrain';
import { ConfigError } from '../../../shared/config/validation';
import type { StudyRequest } from '../../../shared/api/types';
import type { StudyResult } from '../../../shared/dto';
import { detectHardware } from '../../jobs/service/hardware';
import { StudyRunner } from '../../jobs/study/study-runner';
import { studyMarkdown } from '../../jobs/study/study-result';
import { estimateStudy } from '../../jobs/study/study-eta';
import type { StudyPlan } from '../../jobs/study/study-plan';
import { backendInUse } from '../../../shared/config/run-defaults';

const formatSeconds = (s: number) => (s < 120 ? `${Math.round(s)} s` : `${Math.round(s / 60)} min`);
import { numberFlag, parse } from '../args';
import { CliError } from '../cli-error';
import { openStudio } from '../home';
import { executorFor, onFlag } from '../executor-flag';

const OPTIONS = {
  data: { type: 'string' },
  unlabeled: { type: 'string' },
  train: { type: 'string' },
  val: { type: 'string' },
  arms: { type: 'string' },
  seeds: { type: 'string' },
  budget: { type: 'string' },
  'pretrain-steps': { type: 'string' },
  'finetune-steps': { type: 'string' },
  backend: { type: 'string' },
  detector: { type: 'string' },
  replicates: { type: 'string' },
  name: { type: 'string' },
  resume: { type: 'string' },
  json: { type: 'boolean' },
  on: { type: 'string' },
} as const;

const fail = (message: string) => new CliError(`selfemd study: ${message}`);

/** The request the flags describe (pure: paths are checked and made absolute here). */
export function studyRequest(argv: string[]): {
  request: StudyRequest | null;
  resume?: string;
  json: boolean;
} {
  const { values: v } = parse('study', argv, OPTIONS);
  const json = Boolean(v.json);
  if (v.resume !== undefined) {
    const others = Object.keys(v).filter((k) => k !== 'resume' && k !== 'json');
    if (others.length) throw fail(`--resume ID takes no other options (got --${others.join(', --')})`);
    return { request: null, resume: v.resume, json };
  }
  const n = (name: keyof typeof OPTIONS) => numberFlag('study', name, v[name] as string | undefined);
  if (v.data !== undefined && v.data !== 'demo')
    throw fail(`--data ${v.data}: only "demo"; name your data with --unlabeled, --train and --val`);
  const source = (flag: 'unlabeled' | 'train' | 'val'): string => {
    const given = v[flag] ?? v.data;
    if (given === undefined) throw fail(`--${flag} (or --data demo) is required`);
    if (given === 'demo') return 'demo';
    if (!fs.existsSync(given)) throw fail(`--${flag} ${given}: no such file or folder`);
    return path.resolve(given);
  };
  if (!v.arms) throw fail('--arms is required (e.g. --arms random,byol,self-emd)');
  const budget = v.budget ?? 'smoke';
  if (!(STUDY_BUDGETS as readonly string[]).includes(budget))
    throw fail(`--budget ${budget}: one of ${STUDY_BUDGETS.join(', ')}`);
  if (v.backend !== undefined && !(BACKEND_CHOICES as readonly string[]).includes(v.backend))
    throw fail(`--backend ${v.backend}: one of ${BACKEND_CHOICES.join(', ')}`);
  if (v.detector !== undefined && !(DETECTOR_NAMES as readonly string[]).includes(v.detector))
    throw fail(`--detector ${v.detector}: one of ${DETECTOR_NAMES.join(', ')}`);
  const seeds = n('seeds') ?? 2;
  const whole = (name: string, x: number | undefined, min: number) => {
    if (x !== undefined && (!Number.isInteger(x) || x < min))
      throw fail(`--${name} must be a whole number ≥ ${min}`);
    return x;
  };
  whole('seeds', seeds, 1);
  const request: StudyRequest = {
    arms: v.arms
      .split(',')
      .map((a) => a.trim())
      .filter(Boolean),
    seeds,
    budget: budget as StudyBudget,
    data: { unlabeled: source('unlabeled'), train: source('train'), val: source('val') },
    ...(v.name ? { name: v.name } : {}),
    ...(v.backend ? { backend: v.backend as BackendChoice } : {}),
    // the detector every arm fine-tunes (the machine's default recipe for it)
    ...(v.detector ? { finetune: { detector: v.detector } } : {}),
  };
  const on = onFlag('study', v.on);
  if (on !== undefined) request.on = on;
  const pretrainSteps = whole('pretrain-steps', n('pretrain-steps'), 1);
  const finetuneSteps = whole('finetune-steps', n('finetune-steps'), 1);
  const replicates = whole('replicates', n('replicates'), 10);
  if (pretrainSteps !== undefined) request.pretrainSteps = pretrainSteps;
  if (finetuneSteps !== undefined) request.finetuneSteps = finetuneSteps;
  if (replicates !== undefined) request.replicates = replicates;
  return { request, json };
}

export async function studyCommand(argv: string[]): Promise<void> {
  const { request, resume, json } = studyRequest(argv);
  const studio = openStudio();
  const say = (m: string) => {
    if (!json) process.stderr.write(`${m}\n`);
  };
  const started = Date.now();
  try {
    studio.store.markInterruptedStudies();
    const runner = new StudyRunner(studio.store, studio.manager, {
      home: studio.home,
      machine: () => detectHardware(),
      log: (_id, m) => say(m),
    });
    if (request) executorFor('study', studio.store, request.on);
    let studyId: string;
    if (resume) {
      const study = studio.store.listStudies().find((s) => s.id === resume || s.id.startsWith(resume));
      if (!study) throw fail(`--resume ${resume}: no study with that id in ${studio.store.path}`);
      try {
        studyId = runner.resume(study.id).id;
      } catch (e) {
        throw fail((e as Error).message);
      }
    } else {
      try {
        studyId = (await runner.start(request!)).id;
      } catch (e) {
        if (e instanceof ConfigError) throw fail(e.message);
        throw e;
      }
    }
    say(`study ${studyId}`);
    const study = studio.store.getStudy(studyId);
    const plan = study.config as unknown as StudyPlan;
    const eta = estimateStudy(
      studio.store,
      plan,
      backendInUse(detectHardware(), plan.finetune.backend),
      studio.store.studyRuns(studyId),
    );
    say(
      eta.seconds === null
        ? 'time: not measured yet on this backend for runs of these sizes (later studies will know)'
        : `time: about ${formatSeconds(eta.seconds)} of training left, from step times measured here`,
    );
    const off = studio.manager.on((e) => {
      if (e.type === 'status' && e.run.status !== 'running')
        say(`  ${e.run.name}: ${e.run.status} at step ${e.run.step}/${e.run.totalSteps ?? '?'}`);
    });
    const onSigint = () => {
      say('\npausing the study at a checkpoint…');
      void runner.pause(studyId);
    };
    process.once('SIGINT', onSigint);
    const done = await runner.wait(studyId);
    process.off('SIGINT', onSigint);
    off();
    const seconds = (Date.now() - started) / 1000;
    if (done.status !== 'completed') {
      if (json) console.log(JSON.stringify({ study: done, seconds }, null, 2));
      throw new CliError(
        `selfemd study: study ${studyId} ${done.status}${done.error ? `: ${done.error}` : ''}; continue it with selfemd study --resume ${studyId}`,
        done.status === 'failed' ? 1 : 2,
      );
    }
    const result = done.result as unknown as StudyResult;
    if (json)
      console.log(JSON.stringify({ study: { ...done, result: undefined }, result, seconds }, null, 2));
    else {
      console.log(studyMarkdown(done, result));
      console.log(
        `wall time ${seconds.toFixed(0)} s; files: ${result.files.markdown}, ${result.files.csv}, ${result.files.json}`,
      );
    }
  } finally {
    await studio.close();
  }
}
