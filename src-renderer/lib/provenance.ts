/**
 * Where a fine-tune's backbone came from, in words, and what deleting a run orphans. The store drops
 * a deleted parent's link (parentRunId becomes null), but the fine-tune's config still records its
 * init: a pretraining checkpoint, an exported file, or random weights. So a fine-tune whose parent was
 * deleted says so after a restart too, instead of "random init".
 */
import type { RunRecord } from '../../shared/dto';

export type BackboneOrigin =
  | { kind: 'run'; run: RunRecord }
  | { kind: 'deleted-run' }
  | { kind: 'file'; file: string }
  | { kind: 'random' };

export function backboneOrigin(run: RunRecord, parent: RunRecord | null): BackboneOrigin {
  if (parent) return { kind: 'run', run: parent };
  if (run.parentRunId) return { kind: 'deleted-run' };
  const init = (run.config as { init?: { kind?: unknown; path?: unknown } }).init;
  if (init?.kind === 'pretrain-run') return { kind: 'deleted-run' };
  if (
    (init?.kind === 'safetensors' || init?.kind === 'tfjs' || init?.kind === 'pytorch') &&
    typeof init.path === 'string'
  )
    return { kind: 'file', file: init.path.split(/[\\/]/).filter(Boolean).pop() ?? init.path };
  return { kind: 'random' };
}

/** The confirmation before deleting `run`: names the fine-tunes that would lose their link to it. */
export function deleteRunQuestion(run: RunRecord, all: readonly RunRecord[]): string {
  const children = all.filter((r) => r.parentRunId === run.id).map((r) => `“${r.name}”`);
  const base = `Delete run “${run.name}” with its metrics, checkpoints and exports records?`;
  if (children.length === 0) return base;
  return `${base}\n\n${children.length} fine-tune${children.length > 1 ? 's' : ''} started from it (${children.join(', ')}) keep their results and will say their backbone came from a deleted run.`;
}
