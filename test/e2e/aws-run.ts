// How the AWS e2e tests call test/e2e/aws-driver.ts: inside moto's network namespace, one JSON
// line back per call, and `ok` turning a failed call into an error that carries the run's log.
import type { MotoServer } from '../helpers/moto.ts';
import { motoEnv } from '../helpers/moto.ts';

export interface DriverOutput {
  ok: boolean;
  result: any;
  error?: { name: string; message: string; exitCode?: number; hint?: string };
  logs: string[];
  /** With --record: the form parameters of every request the provider sent. */
  requests: Record<string, string>[];
  state: any;
}

/** `moto` and `dirOf` are read at call time: the test starts moto and makes the dirs in beforeAll. */
export function driverFor(moto: () => MotoServer | undefined, dirOf: (cluster: string) => string) {
  async function driver(cluster: string, ...args: string[]): Promise<DriverOutput> {
    const server = moto();
    if (!server) throw new Error('moto is not running');
    const out = await server.runNode(['test/e2e/aws-driver.ts', dirOf(cluster), ...args], motoEnv(server));
    const line = out.stdout.trim().split('\n').pop() ?? '';
    try {
      return JSON.parse(line) as DriverOutput;
    } catch {
      throw new Error(`driver ${args.join(' ')} printed no JSON (exit ${out.code}):\n${out.stdout}\n${out.stderr}`);
    }
  }

  async function ok(cluster: string, ...args: string[]): Promise<DriverOutput> {
    const out = await driver(cluster, ...args);
    if (!out.ok) throw new Error(`${args.join(' ')} on ${cluster} failed: ${out.error?.name}: ${out.error?.message}\n${out.logs.join('\n')}`);
    return out;
  }

  return { driver, ok };
}

/** The actions of recorded requests that change something (everything but Describe*). */
export function mutatingActions(out: DriverOutput): string[] {
  return out.requests.map((request) => request.Action ?? '').filter((action) => action && !/^Describe/.test(action));
}
