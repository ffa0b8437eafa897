/**
 * A client of slurmrestd's OpenAPI v0.0.38 (Slurm 22.05): ping, submit a batch job, read a job, cancel
 * or signal one. Over a unix socket (`unix:/path`, local auth: jobs run as the user slurmrestd switched
 * to) or http(s) with JWT (X-SLURM-USER-NAME / X-SLURM-USER-TOKEN). The token is sent as a header and
 * nowhere else: no message or error this module makes contains it (it is masked even where Slurm or a
 * proxy echoes it back).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { SlurmClusterSettings } from '../../../shared/dto/clusters';

export type SlurmConnection = Pick<SlurmClusterSettings, 'endpoint' | 'apiVersion' | 'user' | 'token'>;

/** A request to slurmrestd failed: unreachable, an HTTP error, or Slurm's own `errors`. Never holds the token. */
export class SlurmRestError extends Error {
  constructor(
    message: string,
    /** HTTP status, when slurmrestd answered. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'SlurmRestError';
  }
}

export interface SlurmPing {
  /** Slurm's release, e.g. '22.05.8'. */
  release: string;
  /** Each controller and whether it answers ('UP'). */
  controllers: { hostname: string; ping: string }[];
}

/** A batch job as v0.0.38's `job/submit` takes it (the subset the executor uses). */
export interface SlurmJobSubmission {
  /** The batch script, starting with `#!`. */
  script: string;
  name: string;
  currentWorkingDirectory: string;
  standardOutput: string;
  standardError?: string;
  /** 'append': every attempt of a requeued job appends to its output file instead of truncating it. */
  openMode?: 'append' | 'truncate';
  environment: Record<string, string>;
  partition?: string;
  account?: string;
  timeLimitMinutes?: number;
  cpusPerTask?: number;
  memoryMb?: number;
  /** e.g. 'gpu:1' (Slurm's --gres). */
  gres?: string;
  /** Slurm's --signal without `B:` (v0.0.38 refuses it): `USR1@90` signals every step 90 s before the end. */
  signal?: string;
  /** Whether Slurm may requeue it (node failure, preemption, `scontrol requeue`). */
  requeue?: boolean;
  /** Slurm's --array, e.g. '0-3'. */
  array?: string;
}

/** What the executor reads of a job (v0.0.38 `job/{id}`). */
export interface SlurmJobInfo {
  jobId: string;
  /** PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, NODE_FAIL, PREEMPTED, REQUEUED, … */
  state: string;
  /** Slurm's reason ('Resources', 'Priority', 'None', …). */
  reason: string;
  /** The batch script's exit code (Slurm's packed wait status decoded: the code, or 128 + signal). */
  exitCode: number | null;
  /** How many times it was requeued. */
  restartCount: number;
  /** Unix seconds, 0 when not yet. */
  startTime: number;
  endTime: number;
}

interface SlurmErrorEntry {
  error?: string;
  description?: string;
  error_number?: number;
  error_code?: number;
}

const REQUEST_TIMEOUT_MS = 15_000;

export class SlurmRestClient {
  private readonly base: URL | null;
  private readonly socketPath: string | null;

  constructor(
    private readonly connection: SlurmConnection,
    private readonly timeoutMs = REQUEST_TIMEOUT_MS,
  ) {
    const endpoint = connection.endpoint.trim();
    if (endpoint.startsWith('unix:')) {
      this.socketPath = endpoint.slice('unix:'.length);
      if (!this.socketPath.startsWith('/'))
        throw new SlurmRestError(`endpoint ${endpoint}: a socket path must be absolute (unix:/path)`);
      this.base = null;
    } else {
      let url: URL;
      try {
        url = new URL(endpoint);
      } catch {
        throw new SlurmRestError(`endpoint ${endpoint}: not a URL (http(s)://host:port or unix:/path)`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        throw new SlurmRestError(`endpoint ${endpoint}: protocol ${url.protocol} (http, https or unix)`);
      this.base = url;
      this.socketPath = null;
    }
    if (!/^v\d+\.\d+\.\d+$/.test(connection.apiVersion))
      throw new SlurmRestError(`apiVersion ${connection.apiVersion}: expected e.g. v0.0.38`);
  }

  /** Whether slurmrestd answers and reaches slurmctld. */
  async ping(): Promise<SlurmPing> {
    const body = await this.request('GET', 'ping');
    const meta = body.meta as { Slurm?: { release?: string } } | undefined;
    const pings = (body.pings as { hostname?: string; ping?: string }[] | undefined) ?? [];
    return {
      release: meta?.Slurm?.release ?? 'unknown',
      controllers: pings.map((p) => ({ hostname: p.hostname ?? '?', ping: p.ping ?? '?' })),
    };
  }

  /** Submits a batch job; resolves with its id. */
  async submit(job: SlurmJobSubmission): Promise<string> {
    const properties: Record<string, unknown> = {
      name: job.name,
      current_working_directory: job.currentWorkingDirectory,
      standard_output: job.standardOutput,
      standard_error: job.standardError ?? job.standardOutput,
      environment: job.environment,
      ...(job.openMode ? { open_mode: job.openMode } : {}),
      ...(job.partition ? { partition: job.partition } : {}),
      ...(job.account ? { account: job.account } : {}),
      ...(job.timeLimitMinutes ? { time_limit: job.timeLimitMinutes } : {}),
      ...(job.cpusPerTask ? { cpus_per_task: job.cpusPerTask } : {}),
      ...(job.memoryMb ? { memory_per_node: job.memoryMb } : {}),
      ...(job.gres ? { gres: job.gres } : {}),
      ...(job.signal ? { signal: job.signal } : {}),
      ...(job.requeue !== undefined ? { requeue: job.requeue } : {}),
      ...(job.array ? { array: job.array } : {}),
    };
    const body = await this.request('POST', 'job/submit', { script: job.script, job: properties });
    const id = body.job_id;
    if (typeof id !== 'number' && typeof id !== 'string')
      throw new SlurmRestError('job/submit: slurmrestd answered without a job_id');
    return String(id);
  }

  /** A job's state; throws SlurmRestError when Slurm no longer knows it (past MinJobAge). */
  async job(jobId: string): Promise<SlurmJobInfo> {
    const body = await this.request('GET', `job/${encodeURIComponent(jobId)}`);
    const jobs = body.jobs as Record<string, unknown>[] | undefined;
    const j = jobs?.[0];
    if (!j) throw new SlurmRestError(`job ${jobId}: slurmrestd answered without the job`);
    return {
      jobId: String(j.job_id),
      state: String(j.job_state ?? 'UNKNOWN'),
      reason: String(j.state_reason ?? 'None'),
      exitCode: decodeExitCode(j.exit_code),
      restartCount: Number(j.restart_cnt ?? 0),
      startTime: Number(j.start_time ?? 0),
      endTime: Number(j.end_time ?? 0),
    };
  }

  /** Cancels a job (scancel), or with `signal` (e.g. 'USR1') only sends it that signal (scancel --signal). */
  async cancel(jobId: string, signal?: string): Promise<void> {
    const query = signal ? `?signal=${encodeURIComponent(signal)}` : '';
    await this.request('DELETE', `job/${encodeURIComponent(jobId)}${query}`);
  }

  /** A message safe to show or log: the token masked wherever it appears. */
  private mask(text: string): string {
    const token = this.connection.token;
    return token ? text.split(token).join('***') : text;
  }

  private where(): string {
    return this.socketPath ? `unix:${this.socketPath}` : this.base!.origin;
  }

  private request(method: string, route: string, payload?: unknown): Promise<Record<string, unknown>> {
    const apiPath = `/slurm/${this.connection.apiVersion}/${route}`;
    const body = payload === undefined ? undefined : JSON.stringify(payload);
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    if (this.connection.token) {
      headers['X-SLURM-USER-NAME'] = this.connection.user;
      headers['X-SLURM-USER-TOKEN'] = this.connection.token;
    }
    const what = `${method} ${apiPath} (${this.where()})`;
    const options: http.RequestOptions = this.socketPath
      ? { socketPath: this.socketPath, path: apiPath, method, headers }
      : {
          protocol: this.base!.protocol,
          hostname: this.base!.hostname,
          port: this.base!.port || undefined,
          path: `${this.base!.pathname.replace(/\/$/, '')}${apiPath}`,
          method,
          headers,
        };
    const transport = this.base?.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const fail = (message: string, status?: number) =>
        reject(new SlurmRestError(this.mask(`slurmrestd ${what}: ${message}`), status));
      const req = transport.request(options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => fail(e.message));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Record<string, unknown> | null = null;
          try {
            parsed = JSON.parse(text) as Record<string, unknown>;
          } catch {
            parsed = null;
          }
          const errors = (parsed?.errors as SlurmErrorEntry[] | undefined) ?? [];
          const status = res.statusCode ?? 0;
          if (errors.length > 0) return fail(errors.map(describeError).join('; '), status);
          if (status < 200 || status >= 300)
            return fail(`HTTP ${status}${text ? `: ${this.mask(text).slice(0, 200).trim()}` : ''}`, status);
          if (!parsed) return fail(`answered ${text.length} bytes that are not JSON`, status);
          resolve(parsed);
        });
      });
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (e) =>
        fail((e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no socket there' : e.message),
      );
      req.end(body);
    });
  }
}

function describeError(e: SlurmErrorEntry): string {
  const words = [e.error, e.description].filter((w) => w && w !== 'Unspecified error');
  return words.length ? words.join(': ') : `error ${e.error_number ?? e.error_code ?? '?'}`;
}

/**
 * v0.0.38 gives `exit_code` as Slurm's packed wait status (the code in the high byte, a killing signal
 * in the low bits); later versions give an object. Either way: the code, or 128 + signal.
 */
function decodeExitCode(raw: unknown): number | null {
  if (typeof raw === 'number') {
    const signal = raw & 0x7f;
    return signal ? 128 + signal : raw >> 8;
  }
  if (raw && typeof raw === 'object') {
    const o = raw as { return_code?: number; signal?: { signal_id?: number } };
    if (o.signal?.signal_id) return 128 + o.signal.signal_id;
    if (typeof o.return_code === 'number') return o.return_code;
  }
  return null;
}
