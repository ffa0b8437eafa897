/**
 * Validation of a Slurm cluster's settings (shared/dto/clusters.ts), the one place the rules live:
 * the API's argument shape for `clusters.save` is built from these fields, the store refuses what
 * they refuse, and `selfemd clusters add` reports their issues as its flags. Every issue names the
 * field and what it must be, so the settings screen can show it next to the input.
 */
import type { SlurmClusterSettings } from '../dto/clusters';
import { LOCAL_EXECUTOR } from '../dto/clusters';
import {
  fieldIssues,
  num,
  oneOf,
  shownValue,
  type Checker,
  type ConfigIssue,
  type OptionalField,
} from './validation';

/** A cluster's name: what `--on NAME` and the executor choice say. */
export const CLUSTER_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** slurmrestd's OpenAPI plugin version that Debian 12's Slurm 22.05 serves. */
export const DEFAULT_SLURM_API_VERSION = 'v0.0.38';

/** What a new cluster starts from (the settings screen's form and `selfemd clusters add`). */
export const CLUSTER_DEFAULTS = {
  kind: 'slurm',
  apiVersion: DEFAULT_SLURM_API_VERSION,
  timeLimitMinutes: 60,
  cpusPerTask: 2,
  memoryMb: 4096,
  /** Resubmissions in a row after a time limit, a preemption or a node failure. */
  maxResubmits: 3,
} as const;

/** Text in a single line: a value that ends up in an HTTP header or an sbatch option cannot carry a newline. */
const lineText =
  (what: string, max: number, pattern?: RegExp, patternSays?: string): Checker =>
  (v, path, issues) => {
    if (typeof v !== 'string') issues.push({ path, message: `must be ${what}, got ${shownValue(v)}` });
    else if (v.trim() === '') issues.push({ path, message: `must not be empty (${what})` });
    else if (v.length > max) issues.push({ path, message: `must be at most ${max} characters` });
    else if (/[\u0000-\u001f\u007f]/.test(v))
      issues.push({ path, message: 'must be one line without control characters' });
    else if (pattern && !pattern.test(v))
      issues.push({ path, message: `must be ${patternSays ?? what}, got ${shownValue(v)}` });
  };

export const clusterName: Checker = (v, path, issues) => {
  lineText(
    'a cluster name',
    63,
    CLUSTER_NAME_PATTERN,
    'lower-case letters, digits and - (a letter or digit first)',
  )(v, path, issues);
  if (v === LOCAL_EXECUTOR)
    issues.push({ path, message: `"${LOCAL_EXECUTOR}" is reserved for this machine; choose another name` });
};

/** Where a run executes (`on`, `--on`): 'local' for this machine, or a cluster's name. */
export const executorName: Checker = (v, path, issues) => {
  if (v !== LOCAL_EXECUTOR) clusterName(v, path, issues);
};

/** `http(s)://host[:port][/path]` or `unix:/absolute/path/to/slurmrestd.socket`. */
const endpoint: Checker = (v, path, issues) => {
  const says = 'http(s)://host:port or unix:/path/to/slurmrestd.socket';
  const before = issues.length;
  lineText('an endpoint', 2048)(v, path, issues);
  if (issues.length > before || typeof v !== 'string') return;
  if (v.startsWith('unix:')) {
    if (!isCleanAbsolutePath(v.slice('unix:'.length)))
      issues.push({
        path,
        message: `must be ${says}: the socket needs an absolute path, got ${shownValue(v)}`,
      });
    return;
  }
  const m = /^(https?):\/\/([^/\s?#]+)(\/[^\s?#]*)?$/.exec(v);
  const port = m ? /:(\d+)$/.exec(m[2]!) : null;
  if (!m || m[2]!.startsWith(':') || (port && (Number(port[1]) < 1 || Number(port[1]) > 65535)))
    issues.push({ path, message: `must be ${says}, got ${shownValue(v)}` });
};

/** POSIX absolute, without `.`/`..` segments or NUL: the nodes (Linux) resolve it the same as this machine. */
function isCleanAbsolutePath(p: string): boolean {
  if (!p.startsWith('/') || p.includes('\0')) return false;
  return p.split('/').every((seg) => seg !== '.' && seg !== '..');
}

const sharedFolder: Checker = (v, path, issues) => {
  const before = issues.length;
  lineText('a folder', 4096)(v, path, issues);
  if (issues.length === before && typeof v === 'string' && !isCleanAbsolutePath(v))
    issues.push({
      path,
      message: `must be an absolute folder path (starting with /, without . or .. parts) that this machine and the nodes both see, got ${shownValue(v)}`,
    });
};

const positiveInt = (max: number): Checker => num({ int: true, min: 1, max });

/** The token is checked like any header value, but never echoed back in a message. */
const token: Checker = (v, path, issues) => {
  if (typeof v !== 'string') issues.push({ path, message: 'must be text' });
  else if (v.length > 16_384) issues.push({ path, message: 'must be at most 16384 characters' });
  else if (!/^[\x21-\x7e]*$/.test(v))
    issues.push({ path, message: 'must be printable ASCII without spaces (a JWT), or empty to remove it' });
};

/**
 * Each settings field with its check; optional ones may be left out. The same record is the API's
 * argument shape for `clusters.save` (shared/api/methods.ts), whose `token` left out keeps the
 * stored one and given empty removes it.
 */
export const CLUSTER_FIELDS: { readonly [K in keyof SlurmClusterSettings]-?: OptionalField } = {
  name: { check: clusterName },
  kind: { check: oneOf(['slurm']) },
  endpoint: { check: endpoint },
  apiVersion: { check: lineText('an API version', 16, /^v\d+\.\d+\.\d+$/, 'like v0.0.38') },
  user: {
    check: lineText('a user name', 64, /^[A-Za-z_][A-Za-z0-9_.-]*\$?$/, 'a Unix user name'),
  },
  token: { check: token, optional: true },
  partition: {
    check: lineText('a partition', 200, /^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$/, 'a partition name (or a, b)'),
    optional: true,
  },
  account: { check: lineText('an account', 200, /^[A-Za-z0-9_.-]+$/, 'an account name'), optional: true },
  timeLimitMinutes: { check: positiveInt(525_600) },
  gres: {
    check: lineText(
      'a --gres value',
      200,
      /^[A-Za-z0-9_.:-]+(,[A-Za-z0-9_.:-]+)*$/,
      "a --gres value like 'gpu:1'",
    ),
    optional: true,
  },
  cpusPerTask: { check: positiveInt(4096) },
  memoryMb: { check: positiveInt(2 ** 31 - 1) },
  maxResubmits: { check: num({ int: true, min: 0, max: 100 }), optional: true },
  sharedFolder: { check: sharedFolder },
  nodeCommand: { check: lineText('a command', 4096) },
};

/** Issues of `value` as a cluster's settings, under `path` (`cluster.endpoint`). */
export function clusterSettingsIssues(value: unknown, path = 'cluster'): ConfigIssue[] {
  return fieldIssues(value, CLUSTER_FIELDS, path);
}
