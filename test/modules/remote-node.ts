// A "node" for module tests: a real sshd on 127.0.0.1 reached through the real SSH pool, with a
// cluster directory and a TaskContext. Modules under test only touch paths under `root`.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Node } from '../../src/inventory/node.ts';
import type { RunContext, TaskContext, CheckResult, TaskModule } from '../../src/modules/module.ts';
import { createSshPool, type SshPool } from '../../src/transport/pool.ts';
import type { Transport } from '../../src/transport/transport.ts';
import { testRunContext, testTaskContext } from '../helpers/context.ts';
import { startSshd, type Sshd } from '../helpers/sshd.ts';

export interface RemoteNode {
  sshd: Sshd;
  pool: SshPool;
  node: Node;
  transport: Transport;
  run: RunContext;
  /** A directory on the "node" the test may change. */
  root: string;
  /** The workstation's cluster directory. */
  clusterDir: string;
  context(): TaskContext & { lines: string[] };
  stop(): Promise<void>;
}

export async function remoteNode(overrides: { projectRoot?: string } = {}): Promise<RemoteNode> {
  const sshd = await startSshd();
  const clusterDir = await mkdtemp(join(tmpdir(), 'hardway-modules-'));
  const pool = createSshPool({ clusterDir, ssh: { keyPath: sshd.keyPath, agent: false } });
  const node: Node = { name: 'controller-0', roles: ['controller'], internalIP: '10.240.0.10', sshAddress: sshd.host, sshPort: sshd.port, user: 'root' };
  const transport = await pool.get(node);
  const base = testRunContext({ clusterDir, transports: pool });
  const run: RunContext = overrides.projectRoot ? { ...base, projectRoot: overrides.projectRoot } : base;
  return {
    sshd,
    pool,
    node,
    transport,
    run,
    root: join(sshd.dir, 'data'),
    clusterDir,
    context: () => testTaskContext(run, node, transport),
    stop: async () => {
      await pool.closeAll();
      await sshd.stop();
      await rm(clusterDir, { recursive: true, force: true });
    },
  };
}

/** check, then apply when check said changed: what the engine does, returning both outcomes. */
export async function converge<Args>(module: TaskModule<Args>, ctx: TaskContext, rawArgs: unknown): Promise<{ check: CheckResult; applied?: { changed: boolean; reason: string } | void }> {
  const args = module.args.parse(rawArgs);
  const check = await module.check(ctx, args);
  if (!check.changed) return { check };
  return { check, applied: await module.apply(ctx, args, check) };
}
