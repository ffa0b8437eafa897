import type { RunsComparison } from '../../../shared/dto/compare';
import type { JsonObject, JsonValue } from '../../../shared/dto/json';
import type { CheckpointRepository } from './checkpoints';
import type { EvaluationRepository } from './evaluations';
import type { MetricRepository } from './metrics';
import type { RunRepository } from './runs';

/** Leaves of a config as `a.b.c` → JSON text. Lists are leaves: `[0.5, 1]` vs `[0.5, 2]` is one difference. */
function leaves(value: JsonValue, prefix: string, out: Map<string, string>): Map<string, string> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0 && prefix !== '') out.set(prefix, '{}');
    for (const [k, v] of entries) leaves(v, prefix === '' ? k : `${prefix}.${k}`, out);
  } else out.set(prefix, JSON.stringify(value));
  return out;
}

/** Dotted paths whose value differs between configs (a path missing from some config differs too), sorted. */
export function differingConfigPaths(configs: readonly JsonObject[]): string[] {
  const flat = configs.map((c) => leaves(c, '', new Map()));
  const paths = new Set(flat.flatMap((m) => [...m.keys()]));
  return [...paths].filter((p) => new Set(flat.map((m) => m.get(p) ?? '(absent)')).size > 1).sort();
}

export function compareRuns(
  ids: readonly string[],
  repos: {
    runs: RunRepository;
    metrics: MetricRepository;
    checkpoints: CheckpointRepository;
    evaluations: EvaluationRepository;
  },
): RunsComparison {
  const wanted = repos.runs.requireAll('getRunsForCompare', ids);
  const runs = wanted.map((id) => ({
    run: repos.runs.get(id),
    latestMetrics: repos.metrics.latest(id),
    lastCheckpoint: repos.checkpoints.last(id),
    evaluations: repos.evaluations.list(id),
  }));
  return { runs, differingConfigPaths: differingConfigPaths(runs.map((r) => r.run.config)) };
}
