// Runs the host tools the lab drives (ip, mount, debootstrap) and turns a failure into an error
// that names the command and quotes what it printed.
import { HardwayError } from '../../errors.ts';

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  signal?: AbortSignal;
  /** Return the result instead of throwing when the exit code is not 0. */
  allowFailure?: boolean;
  /** Append stdout and stderr to this file instead of keeping them (long builds). */
  logFile?: string;
  /** What the command is for, for the error message: "create the bridge hw1a2b3c-br". */
  purpose?: string;
}

/** Why: one place that quotes failing commands, so every lab error says what ran and what it said. */
export async function runCommand(file: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  const { execa } = await import('execa');
  const result = await execa(file, args, {
    reject: false,
    stdin: 'ignore',
    cancelSignal: options.signal,
    ...(options.logFile ? { stdout: { file: options.logFile, append: true }, stderr: { file: options.logFile, append: true } } : {}),
    env: toolEnv(process.env),
  });
  const stdout = typeof result.stdout === 'string' ? result.stdout : '';
  const stderr = typeof result.stderr === 'string' ? result.stderr : '';
  const exitCode = result.exitCode ?? (result.isCanceled ? 130 : 1);
  if (result.isCanceled) throw new HardwayError(`${commandLine(file, args)}: cancelled`, { exitCode: 130 });
  if (exitCode !== 0 && !options.allowFailure) {
    const said = (stderr || stdout).trim().split('\n').slice(-15).join('\n');
    const why = result.failed && result.exitCode === undefined ? result.shortMessage : `exit code ${exitCode}`;
    throw new HardwayError(
      `${options.purpose ? `could not ${options.purpose}: ` : ''}\`${commandLine(file, args)}\` failed (${why})${said ? `:\n${said}` : ''}`,
      { exitCode: 1, ...(options.logFile ? { hint: `The full output is in ${options.logFile}.` } : {}) },
    );
  }
  return { exitCode, stdout, stderr };
}

/**
 * Why: ip, mount and debootstrap live in /usr/sbin, which a non-login or sudo shell may leave out
 * of PATH; the C locale keeps their messages parseable and quotable.
 */
export function toolEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const path = [...(env.PATH ?? '').split(':').filter(Boolean), ...SYSTEM_PATH.filter((dir) => !(env.PATH ?? '').split(':').includes(dir))].join(':');
  return { ...env, PATH: path, LC_ALL: 'C' };
}

export const SYSTEM_PATH: readonly string[] = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The command as a person would type it, for errors and plans. */
export function commandLine(file: string, args: readonly string[]): string {
  return [file, ...args].map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`)).join(' ');
}
