// The lab provider: nodes are systemd-nspawn containers on this Linux machine, each an overlay on
// a cached Debian image, in its own network namespace on a per-cluster bridge with the spec's
// fixed address. Nothing is NATed or forwarded off the machine.
import type { Node } from '../../inventory/node.ts';
import type { Provider, ProviderContext } from '../provider.ts';
import { destroyLab, removeLabNode } from './destroy.ts';
import { ensureLab, replaceLabNode } from './ensure.ts';
import { stopNodeProcesses, type StopOptions } from './node.ts';
import { planLab } from './plan.ts';
import { checkLabPrerequisites, hostFacts } from './preflight.ts';
import { labNodeIdentity, labSite, type LabProviderOptions } from './site.ts';

export type { LabProviderOptions } from './site.ts';

export interface LabProvider extends Provider {
  readonly name: 'lab';
  /** Stop one node's container (hard: kill it outright, as a machine losing power). */
  stopNode(ctx: ProviderContext, name: string, options?: StopOptions): Promise<boolean>;
}

/** Why: one object the infra step, rebuild and destroy call, whatever the provider. */
export function createLabProvider(options: LabProviderOptions = {}): LabProvider {
  return {
    name: 'lab',
    preflight: () => checkLabPrerequisites(hostFacts(options.env ?? process.env)),
    plan: (ctx) => planLab(ctx, options),
    ensure: (ctx) => ensureLab(ctx, options),
    replace: (ctx, node: Node) => replaceLabNode(ctx, options, labNodeIdentity(node)),
    destroy: (ctx) => destroyLab(ctx, options),
    remove: (ctx, name) => removeLabNode(ctx, options, name),
    stopNode: (ctx, name, stop) => stopNode(ctx, name, stop, options),
  };
}

/** Why: tests simulate a dead machine; the node stays down until ensure or replace boots it. */
export function stopNode(ctx: ProviderContext, name: string, stop: StopOptions = {}, options: LabProviderOptions = {}): Promise<boolean> {
  return stopNodeProcesses(labSite(ctx, options), name, { timeoutMs: options.stopTimeoutMs, ...stop });
}
