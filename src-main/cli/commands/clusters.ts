/**
 * `selfemd clusters add|list|test|remove`: the Slurm clusters runs can be sent to (`--on NAME`), the
 * same settings the studio's Clusters screen edits. The token is read from a file or stdin, never
 * from a flag (a flag stays in the shell's history and in `ps`), and is never printed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLUSTER_DEFAULTS } from '../../../shared/config/cluster';
import type { SlurmClusterSummary } from '../../../shared/dto/clusters';
import { slurmrestdPing, testCluster, type ClusterPing } from '../../jobs/service/cluster-check';
import { openStore, StoreError, type ClusterInput } from '../../store';
import { numberFlag, parse } from '../args';
import { CliError } from '../cli-error';
import { studioHome } from '../home';
import { printTable } from '../table';

const ADD_OPTIONS = {
  endpoint: { type: 'string' },
  'api-version': { type: 'string' },
  user: { type: 'string' },
  'token-file': { type: 'string' },
  'token-stdin': { type: 'boolean' },
  'no-token': { type: 'boolean' },
  partition: { type: 'string' },
  account: { type: 'string' },
  time: { type: 'string' },
  gres: { type: 'string' },
  cpus: { type: 'string' },
  mem: { type: 'string' },
  'max-resubmits': { type: 'string' },
  shared: { type: 'string' },
  'node-command': { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** Each settings field's flag, so a refusal names what the user typed. */
const FLAG_OF: Record<string, string> = {
  name: 'NAME',
  endpoint: '--endpoint',
  apiVersion: '--api-version',
  user: '--user',
  token: 'the token',
  partition: '--partition',
  account: '--account',
  timeLimitMinutes: '--time',
  gres: '--gres',
  cpusPerTask: '--cpus',
  memoryMb: '--mem',
  maxResubmits: '--max-resubmits',
  sharedFolder: '--shared',
  nodeCommand: '--node-command',
};

const fail = (sub: string, message: string) => new CliError(`selfemd clusters ${sub}: ${message}`);

function openClusterStore() {
  return openStore(path.join(studioHome(), 'studio.db'));
}

async function readToken(v: { 'token-file'?: string; 'token-stdin'?: boolean; 'no-token'?: boolean }) {
  const given = [v['token-file'] !== undefined, v['token-stdin'], v['no-token']].filter(Boolean).length;
  if (given > 1) throw fail('add', 'give one of --token-file, --token-stdin, --no-token');
  if (v['no-token']) return null;
  let text: string;
  if (v['token-file'] !== undefined) {
    try {
      text = fs.readFileSync(v['token-file'], 'utf8');
    } catch (e) {
      throw fail(
        'add',
        `--token-file ${v['token-file']}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
  } else if (v['token-stdin']) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    text = Buffer.concat(chunks).toString('utf8');
  } else return undefined;
  const token = text.trim();
  if (!token) throw fail('add', 'the token is empty (use --no-token to remove a stored one)');
  return token;
}

async function add(argv: string[]): Promise<void> {
  const { values: v, positionals } = parse('clusters add', argv, ADD_OPTIONS, true);
  if (positionals.length !== 1) throw fail('add', 'name the cluster: selfemd clusters add NAME --endpoint …');
  const n = (flag: 'time' | 'cpus' | 'mem' | 'max-resubmits') => numberFlag('clusters add', flag, v[flag]);
  const input: ClusterInput = {
    name: positionals[0]!,
    kind: 'slurm',
    endpoint: v.endpoint as string,
    apiVersion: v['api-version'] ?? CLUSTER_DEFAULTS.apiVersion,
    user: v.user as string,
    partition: v.partition,
    account: v.account,
    timeLimitMinutes: n('time') ?? CLUSTER_DEFAULTS.timeLimitMinutes,
    gres: v.gres,
    cpusPerTask: n('cpus') ?? CLUSTER_DEFAULTS.cpusPerTask,
    memoryMb: n('mem') ?? CLUSTER_DEFAULTS.memoryMb,
    maxResubmits: n('max-resubmits') ?? CLUSTER_DEFAULTS.maxResubmits,
    // made absolute here: the store wants the path the nodes see, not one relative to this shell
    sharedFolder: v.shared === undefined ? (undefined as unknown as string) : path.resolve(v.shared),
    nodeCommand: v['node-command'] as string,
  };
  const token = await readToken(v);
  if (token !== undefined) input.token = token;
  const store = openClusterStore();
  try {
    const saved = store.saveCluster(input);
    if (v.json) console.log(JSON.stringify(saved, null, 2));
    else
      console.log(
        `cluster ${saved.name} saved (${saved.endpoint}; token ${saved.hasToken ? 'stored' : 'none'})`,
      );
  } catch (e) {
    if (e instanceof StoreError && e.code === 'invalid') throw fail('add', flagWords(e.message));
    throw e;
  } finally {
    store.close();
  }
}

/** `saveCluster: cluster.endpoint must be …; cluster.cpusPerTask …` in the flags' words. */
function flagWords(message: string): string {
  return message
    .replace(/^saveCluster: /, '')
    .replace(/cluster\.([A-Za-z]+)/g, (_m, field: string) => FLAG_OF[field] ?? field)
    .replace(/ is required/g, ' is required');
}

function list(argv: string[]): void {
  const { values } = parse('clusters list', argv, { json: { type: 'boolean' } });
  const store = openClusterStore();
  let clusters: SlurmClusterSummary[];
  try {
    clusters = store.listClusters();
  } finally {
    store.close();
  }
  if (values.json) {
    console.log(JSON.stringify(clusters, null, 2));
    return;
  }
  if (clusters.length === 0) {
    console.log('no clusters yet: try  selfemd clusters add NAME --endpoint … (selfemd clusters --help)');
    return;
  }
  const header = [
    'name',
    'endpoint',
    'user',
    'token',
    'partition',
    'time',
    'gres',
    'cpus',
    'mem',
    'shared folder',
  ];
  const rows = clusters.map((c) => [
    c.name,
    c.endpoint,
    c.user,
    c.hasToken ? 'stored' : '-',
    c.partition ?? '-',
    `${c.timeLimitMinutes} min`,
    c.gres ?? '-',
    String(c.cpusPerTask),
    `${c.memoryMb} MB`,
    c.sharedFolder,
  ]);
  printTable(header, rows);
}

/** `ping` is the slurmrestd client's; tests give their own. */
export async function clustersTest(argv: string[], ping: ClusterPing = slurmrestdPing): Promise<void> {
  const { values, positionals } = parse('clusters test', argv, { json: { type: 'boolean' } }, true);
  const name = positionals[0];
  if (!name || positionals.length > 1) throw fail('test', 'which cluster? selfemd clusters test NAME');
  const store = openClusterStore();
  let settings;
  try {
    settings = store.clusterSettings(name);
  } catch (e) {
    if (e instanceof StoreError && e.code === 'not-found') throw fail('test', e.message);
    throw e;
  } finally {
    store.close();
  }
  const result = await testCluster(settings, ping);
  if (values.json) console.log(JSON.stringify(result, null, 2));
  else for (const c of result.checks) console.log(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.what}: ${c.message}`);
  if (!result.ok)
    throw new CliError(
      `selfemd clusters test: ${name} failed ${result.checks
        .filter((c) => !c.ok)
        .map((c) => c.what)
        .join(', ')}`,
      1,
    );
}

function remove(argv: string[]): void {
  const { positionals } = parse('clusters remove', argv, {}, true);
  const name = positionals[0];
  if (!name || positionals.length > 1) throw fail('remove', 'which cluster? selfemd clusters remove NAME');
  const store = openClusterStore();
  try {
    store.removeCluster(name);
  } catch (e) {
    if (e instanceof StoreError && e.code === 'not-found') throw fail('remove', e.message);
    throw e;
  } finally {
    store.close();
  }
  console.log(`cluster ${name} removed`);
}

export async function clustersCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'add':
      return add(rest);
    case 'list':
      return list(rest);
    case 'test':
      return clustersTest(rest);
    case 'remove':
      return remove(rest);
    default:
      throw new CliError(
        `selfemd clusters: ${sub === undefined ? 'which subcommand?' : `unknown subcommand "${sub}"`} (add, list, test, remove; see selfemd clusters --help)`,
      );
  }
}
