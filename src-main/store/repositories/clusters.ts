/**
 * Slurm clusters: their settings, and the token kept apart. Lists answer summaries (`hasToken`, never
 * the token); only `settings(name)` returns the token, for the executor and the connection test on
 * the main side. Settings are validated by the one set of rules in shared/config/cluster.ts.
 */
import { clusterSettingsIssues } from '../../../shared/config/cluster';
import type { SlurmClusterSettings, SlurmClusterSummary } from '../../../shared/dto/clusters';
import type { StoreContext } from '../context';
import { StoreError } from '../errors';
import { readJson, writeJson } from '../json-column';
import { openToken, restrictToOwner, sealToken, type SecretBox } from '../secret-box';
import { prepareStatements } from '../statements';

/**
 * What `saveCluster` takes: the settings, with `token` left out to keep the stored one (editing a
 * cluster never needs the token back), or given as null or '' to remove it.
 */
export type ClusterInput = Omit<SlurmClusterSettings, 'token'> & { token?: string | null };

const SQL = {
  upsert: `INSERT INTO clusters (name, kind, settings, token, created_at, updated_at)
           VALUES (@name, @kind, @settings, @token, @now, @now)
           ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, settings = excluded.settings,
             token = CASE WHEN @keepToken THEN clusters.token ELSE excluded.token END,
             updated_at = excluded.updated_at`,
  // Lists never select the token column: only whether there is one.
  list: 'SELECT name, kind, settings, token IS NOT NULL AS has_token FROM clusters ORDER BY name',
  summary: 'SELECT name, kind, settings, token IS NOT NULL AS has_token FROM clusters WHERE name = ?',
  withToken: 'SELECT name, kind, settings, token FROM clusters WHERE name = ?',
  delete: 'DELETE FROM clusters WHERE name = ?',
  anyToken: 'SELECT 1 FROM clusters WHERE token IS NOT NULL LIMIT 1',
};

interface SummaryRow {
  name: string;
  kind: string;
  settings: string;
  has_token: number;
}

type Stored = Omit<SlurmClusterSettings, 'name' | 'kind' | 'token'>;

function summary(r: SummaryRow): SlurmClusterSummary {
  const stored = readJson<Stored>(r.settings, 'cluster', 'settings', r.name);
  return { ...stored, name: r.name, kind: 'slurm', hasToken: r.has_token === 1 };
}

export class ClusterRepository {
  private readonly sql;

  constructor(
    private readonly ctx: StoreContext,
    /** The database file (or ':memory:'): made owner-only once it holds a token. */
    private readonly file: string,
    private readonly secrets?: SecretBox,
  ) {
    this.sql = prepareStatements(ctx.db, 'clusters', SQL);
    // A database from before tokens made it owner-only.
    if (file !== ':memory:' && this.sql.anyToken.get() !== undefined) restrictToOwner(file);
  }

  /** Adds or replaces a cluster by name. */
  save(input: ClusterInput): SlurmClusterSummary {
    const { token, ...rest } = input ?? ({} as ClusterInput);
    const issues = clusterSettingsIssues(token === null ? rest : input);
    if (issues.length)
      throw new StoreError(
        'invalid',
        `saveCluster: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`,
      );
    const { name, kind, ...stored } = rest;
    // Absent optional fields stay absent (not null) in the JSON, as the DTO has them.
    const settings = Object.fromEntries(Object.entries(stored).filter(([, v]) => v !== undefined));
    this.sql.upsert.run({
      name,
      kind,
      settings: writeJson(settings),
      token: token ? sealToken(token, this.secrets) : null,
      keepToken: token === undefined ? 1 : 0,
      now: this.ctx.now(),
    });
    // Sealed or not, a token makes the database a secret: its owner's alone.
    if (token && this.file !== ':memory:') restrictToOwner(this.file);
    this.ctx.emit({ tables: ['clusters'], runIds: [] });
    return this.summary(name);
  }

  list(): SlurmClusterSummary[] {
    return (this.sql.list.all() as SummaryRow[]).map(summary);
  }

  has(name: string): boolean {
    return this.sql.summary.get(name) !== undefined;
  }

  summary(name: string): SlurmClusterSummary {
    const row = this.sql.summary.get(name) as SummaryRow | undefined;
    if (!row) throw notFound(name);
    return summary(row);
  }

  /** The settings with the token: for the executor and the connection test only, never for a view. */
  settings(name: string): SlurmClusterSettings {
    const row = this.sql.withToken.get(name) as
      (Omit<SummaryRow, 'has_token'> & { token: string | null }) | undefined;
    if (!row) throw notFound(name);
    const stored = readJson<Stored>(row.settings, 'cluster', 'settings', row.name);
    let token: string | null = null;
    try {
      token = row.token === null ? null : openToken(row.token, this.secrets, row.name);
    } catch (e) {
      throw new StoreError('invalid', (e as Error).message);
    }
    return { ...stored, name: row.name, kind: 'slurm', ...(token !== null ? { token } : {}) };
  }

  remove(name: string): void {
    if (this.sql.delete.run(name).changes === 0) throw notFound(name);
    this.ctx.emit({ tables: ['clusters'], runIds: [] });
  }
}

const notFound = (name: string): StoreError =>
  new StoreError('not-found', `no cluster named ${JSON.stringify(String(name)).slice(0, 80)}`);
