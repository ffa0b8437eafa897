/** `selfemd runs` (list), `selfemd runs show RUN` (one run, with what it trained on) and `selfemd resume RUN`. */
import type { RunRecord } from '../../../shared/dto';
import { adapterLine, gpuRequestLine, limitsLine } from '../../../shared/dto/gpu-adapter';
import { parse } from '../args';
import { CliError } from '../cli-error';
import { followRun } from '../follow-run';
import { openStudio } from '../home';
import { resolveRunRef } from '../run-ref';
import { printTable } from '../table';

export async function runsCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse('runs', argv, { json: { type: 'boolean' } }, true);
  if (positionals[0] === 'show') return showRun(positionals.slice(1), values.json === true);
  if (positionals.length)
    throw new CliError(
      `selfemd runs: unknown subcommand "${positionals[0]}" (usage: selfemd runs [show RUN] [--json])`,
    );
  const studio = openStudio();
  try {
    const runs = studio.store.listRuns();
    if (values.json) {
      console.log(JSON.stringify(runs, null, 2));
      return;
    }
    if (runs.length === 0) {
      console.log('no runs yet: try  selfemd pretrain --data demo');
      return;
    }
    const rows = runs.map((r) => [
      r.id,
      r.name,
      r.kind,
      r.method,
      r.backbone,
      r.status,
      `${r.step}/${r.totalSteps ?? '?'}`,
      r.backend?.name ?? '-',
      new Date(r.createdAt).toISOString().slice(0, 16).replace('T', ' '),
    ]);
    const header = ['id', 'name', 'kind', 'method', 'backbone', 'status', 'step', 'backend', 'created'];
    printTable(header, rows);
  } finally {
    await studio.close();
  }
}

export async function resumeCommand(argv: string[]): Promise<void> {
  const { positionals, values } = parse('resume', argv, { json: { type: 'boolean' } }, true);
  const ref = positionals[0];
  if (!ref)
    throw new CliError('selfemd resume: which run? usage: selfemd resume RUN (id, id prefix or name)');
  const studio = openStudio();
  try {
    const runId = resolveRunRef(studio.store.listRuns(), ref, 'resume');
    try {
      studio.manager.resume(runId);
    } catch (e) {
      throw new CliError(`selfemd resume: ${(e as Error).message}`);
    }
    await followRun(studio, runId, { json: values.json });
  } finally {
    await studio.close();
  }
}

async function showRun(args: string[], json: boolean): Promise<void> {
  const ref = args[0];
  if (!ref || args.length > 1)
    throw new CliError(
      'selfemd runs show: which run? usage: selfemd runs show RUN [--json] (id, id prefix or name)',
    );
  const studio = openStudio();
  try {
    const run = studio.store.getRun(resolveRunRef(studio.store.listRuns(), ref, 'runs show'));
    console.log(json ? JSON.stringify(run, null, 2) : describeRun(run).join('\n'));
  } finally {
    await studio.close();
  }
}

const when = (t: number | null) =>
  t === null ? '-' : new Date(t).toISOString().slice(0, 19).replace('T', ' ');

/** A run's record as `label: value` lines, the backend it trained on (and the GPU asked for and got) included. */
export function describeRun(run: RunRecord): string[] {
  const b = run.backend;
  const lines = [
    `run: ${run.id} "${run.name}"`,
    `kind: ${run.kind}, method ${run.method}, backbone ${run.backbone}`,
    `status: ${run.status}, step ${run.step}/${run.totalSteps ?? '?'}`,
    `created ${when(run.createdAt)}, started ${when(run.startedAt)}, finished ${when(run.finishedAt)} (UTC)`,
  ];
  if (run.parentRunId) lines.push(`from pretraining: ${run.parentRunId}`);
  if (!b) lines.push(`backend: not started yet (asked for ${String(run.config.backend ?? 'auto')})`);
  else {
    const asked = b.requested && b.requested !== b.name ? `, asked for ${b.requested}` : '';
    lines.push(
      `backend: ${b.name} (TF.js ${b.version}${b.threads ? `, ${b.threads} thread(s)` : ''})${asked}`,
    );
    if (b.gpuRequest) lines.push(`GPU asked for: ${gpuRequestLine(b.gpuRequest)}`);
    if (b.adapter)
      lines.push(`GPU adapter: ${adapterLine(b.adapter)}`, `GPU limits: ${limitsLine(b.adapter)}`);
    else if (b.device) lines.push(`GPU: ${b.device}`);
    for (const note of b.notes ?? []) lines.push(`note: ${note}`);
  }
  if (run.error) lines.push(`error: ${run.error}`);
  return lines;
}
