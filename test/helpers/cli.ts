// Runs the real `hardway` executable the way a user does, capturing output and exit code.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const hardwayBin = fileURLToPath(new URL('../../bin/hardway.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function hardway(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [hardwayBin, ...args],
      { cwd: options.cwd, env: { ...process.env, CI: 'true', ...options.env }, timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
