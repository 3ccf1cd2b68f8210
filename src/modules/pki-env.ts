// The PKI code's view of a run: the cluster directory, spec and inventory, and the time now.
import type { RunContext } from './module.ts';
import { HardwayError } from '../errors.ts';
import type { PkiEnv } from '../pki/plan-types.ts';

/** Why: src/pki stays free of engine types, so the CLI and the bench call it the same way. */
export function pkiEnv(run: RunContext): PkiEnv {
  // The lab and static inventories follow from the spec; an NLB's name exists only after infra.
  if (!run.inventory.endpoint.host) {
    throw new HardwayError("the load balancer's DNS name is not known yet, and the API server certificate and kubeconfigs must carry it", {
      exitCode: 1,
      hint: 'Run the infra step first: hardway provision --step infra (or add --with-deps).',
    });
  }
  return { clusterDir: run.clusterDir, spec: run.spec, inventory: run.inventory, now: new Date() };
}
