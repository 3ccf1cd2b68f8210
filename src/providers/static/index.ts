// The static provider: machines you already have. infra only checks that each host's SSH port
// answers; destroy --wipe removes what hardway installed on them, and nothing else.
import { connect } from 'node:net';
import { HardwayError, UsageError } from '../../errors.ts';
import type { Node } from '../../inventory/node.ts';
import type { Provider, ProviderContext } from '../provider.ts';
import { WIPE_COMMAND } from './wipe.ts';

function probe(node: Node, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: node.sshAddress, port: node.sshPort });
    const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${timeoutMs / 1000}s`)), timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.end();
      resolve();
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Why: static hosts are not created or replaced; hardway only checks and cleans them. */
export function createStaticProvider(options: { probeTimeoutMs?: number } = {}): Provider {
  const timeoutMs = options.probeTimeoutMs ?? 10_000;
  return {
    name: 'static',
    async preflight() {},
    async plan(ctx) {
      return ctx.inventory.nodes.map((node) => ({ action: 'found', text: `found host ${node.name} (${node.user}@${node.sshAddress}:${node.sshPort})` }));
    },
    async ensure(ctx: ProviderContext) {
      const failures: string[] = [];
      await Promise.all(
        ctx.inventory.nodes.map(async (node) => {
          try {
            await probe(node, timeoutMs);
            ctx.log(`${node.name}: ssh port ${node.sshAddress}:${node.sshPort} answers`);
          } catch (error) {
            failures.push(`${node.name} (${node.sshAddress}:${node.sshPort}): ${(error as Error).message}`);
          }
        }),
      );
      if (failures.length) {
        throw new HardwayError(`cannot reach SSH on ${failures.join('; ')}`, { exitCode: 1, hint: 'Start the machines (vagrant up), or fix nodes.*.hosts in cluster.yaml.' });
      }
      return { created: [], found: ctx.inventory.nodes.map((node) => `host ${node.name}`), facts: {} };
    },
    async replace(_ctx, node) {
      // The machine stays; rebuild wipes hardway's files on it (rebuild --wipe) and provisions again.
      void node;
    },
    async destroy(ctx, destroyOptions) {
      if (!destroyOptions.wipe) {
        throw new UsageError('the static provider does not own its machines: pass --wipe to remove what hardway installed on them (units, binaries, data, certificates)');
      }
      if (!ctx.transports) throw new HardwayError('destroy --wipe needs SSH connections to the hosts');
      const removed: string[] = [];
      for (const node of ctx.inventory.nodes) {
        const transport = await ctx.transports.get(node, ctx.signal);
        await transport.exec(WIPE_COMMAND);
        removed.push(`hardway's units, binaries, data and certificates on ${node.name}`);
      }
      return removed;
    },
  };
}
