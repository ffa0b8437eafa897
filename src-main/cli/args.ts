/** Argument parsing shared by the commands: node:util's parseArgs, with one-line errors. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
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
