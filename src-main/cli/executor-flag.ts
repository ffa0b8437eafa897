/**
 * `--on CLUSTER` of pretrain, finetune and study: checked as a name when the flags are read, then
 * against the configured clusters (the studio's own check, jobs/service/cluster-check.ts) once the
 * store is open.
 */
import { executorName } from '../../shared/config/cluster';
import type { ConfigIssue } from '../../shared/config/validation';
import type { ExecutorName } from '../../shared/dto/clusters';
import { requireExecutor } from '../jobs/service/cluster-check';
import type { ExperimentStore } from '../store';
import { CliError } from './cli-error';

/** --on as given: undefined when left out; a malformed name is the command's one-line error. */
export function onFlag(command: string, value: string | undefined): ExecutorName | undefined {
  if (value === undefined) return undefined;
  const issues: ConfigIssue[] = [];
  executorName(value, '--on', issues);
  if (issues.length) throw new CliError(`selfemd ${command}: ${issues[0]!.path} ${issues[0]!.message}`);
  return value;
}

/** The executor a run goes to: this machine, or a configured cluster (a one-line error naming the others). */
export function executorFor(command: string, store: ExperimentStore, on: string | undefined): ExecutorName {
  try {
    return requireExecutor(store, on);
  } catch (e) {
    const hint = (e as { hint?: string }).hint;
    throw new CliError(`selfemd ${command}: --on ${on}: ${(e as Error).message}${hint ? `. ${hint}` : ''}`);
  }
}
