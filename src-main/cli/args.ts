/**
 * Argument handling shared by the commands: node:util's parseArgs with one-line errors, and flags →
 * config overrides (the one place the --config file and the machine's defaults are layered).
 */
import * as fs from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, mergeDefaults } from '../../shared/config/validation';
import type { GpuPowerPreference } from '../../shared/dto/gpu-adapter';
import { CliError } from './cli-error';

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  argv: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (e) {
    throw new CliError(`selfemd ${command}: ${(e as Error).message.split('\n')[0]} (see selfemd help)`);
  }
}

export function numberFlag(command: string, name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n))
    throw new CliError(`selfemd ${command}: --${name} must be a number, got "${value}"`);
  return n;
}

/** Removes undefined leaves and the objects they leave empty, so absent flags override nothing. */
export function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const inner = dropUndefined(v as Record<string, unknown>);
      if (Object.keys(inner).length) out[k] = inner;
    } else if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * A run's overrides from the command line, in the order they win: the machine's defaults for the
 * backend asked for (`withDefaults`: shared/config/run-defaults.ts, as the studio's; left out with
 * --full, which starts from the paper's sizes) < the --config file < the flags.
 */
export function runOverrides(
  command: string,
  args: {
    full: boolean | undefined;
    configFile: string | undefined;
    flags: Record<string, unknown>;
    withDefaults: (requested: Record<string, unknown>) => Record<string, unknown>;
  },
): Record<string, unknown> {
  let fromFile: Record<string, unknown> = {};
  if (args.configFile) {
    try {
      fromFile = JSON.parse(fs.readFileSync(args.configFile, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new CliError(`selfemd ${command}: --config ${args.configFile}: ${(e as Error).message}`);
    }
  }
  const requested = mergeDefaults(fromFile, dropUndefined(args.flags)) as Record<string, unknown>;
  return args.full ? requested : args.withDefaults(requested);
}

/** A config resolver's ConfigError as the command's one-line error. */
export function resolveOrExit<T>(command: string, resolve: () => T): T {
  try {
    return resolve();
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(`selfemd ${command}: invalid config: ${e.message}`);
    throw e;
  }
}

const GPU_POWER_FLAGS: Record<string, GpuPowerPreference> = {
  low: 'low-power',
  high: 'high-performance',
  'low-power': 'low-power',
  'high-performance': 'high-performance',
};

/** --gpu-power low|high (or Dawn's names low-power|high-performance). */
export function gpuPowerFlag(command: string, value: string | undefined): GpuPowerPreference | undefined {
  if (value === undefined) return undefined;
  const power = GPU_POWER_FLAGS[value];
  if (!power)
    throw new CliError(
      `selfemd ${command}: --gpu-power must be low or high (low-power, high-performance), got "${value}"`,
    );
  return power;
}

/**
 * --gpu NAME and --gpu-power as the run's process environment (SELFEMD_GPU, SELFEMD_GPU_POWER, which
 * the engine's backend selection reads): the webgpu adapter a run trains on.
 */
export function gpuEnv(
  command: string,
  values: { gpu?: string; 'gpu-power'?: string },
): Record<string, string> {
  const env: Record<string, string> = {};
  if (values.gpu !== undefined) {
    if (!values.gpu.trim()) throw new CliError(`selfemd ${command}: --gpu needs part of an adapter's name`);
    env.SELFEMD_GPU = values.gpu;
  }
  const power = gpuPowerFlag(command, values['gpu-power']);
  if (power) env.SELFEMD_GPU_POWER = power;
  return env;
}
