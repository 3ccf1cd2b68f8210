// The verify step's module: the health probes of src/health, failing the step with every problem
// found (a missing SAN names the certificate and the name).
import { z } from 'zod';
import { TaskError } from '../errors.ts';
import { LEADER_LEASES, VERIFY_CONFIGMAP } from '../health/api-checks.ts';
import { HEALTH_CHECKS, probeHealth } from '../health/probes.ts';
import { loadBalancerType } from '../spec/schema.ts';
import { shellQuote } from '../transport/shell.ts';
import { defineModule } from './module.ts';

/** A fresh control plane elects its leaders within seconds; a bound says when to give up. */
const LEADER_WAIT_MS = 60_000;

/** Why: verify proves the cluster works as a client sees it, naming what is wrong when it doesn't. */
export const verifyModule = defineModule({
  name: 'verify',
  where: 'local',
  summary: 'check health over TLS against the cluster CAs, as a client would',
  args: z.strictObject({ check: z.enum(HEALTH_CHECKS) }),
  async check(ctx, args) {
    if (args.check === 'loadbalancer' && loadBalancerType(ctx.run.spec) === 'none') return { changed: false, reason: 'no load balancer in this cluster' };
    return { changed: true, probe: true, reason: `verify ${args.check}` };
  },
  async apply(ctx, args) {
    const results = (await probeHealth({ run: ctx.run, signal: ctx.signal }, args.check, { waitMs: LEADER_WAIT_MS })).map((result) => ({ ok: result.ok, line: `${result.what}: ${result.detail}` }));
    for (const result of results) ctx.log(result.line);
    const failures = results.filter((result) => !result.ok).map((result) => result.line);
    if (failures.length) {
      throw new TaskError(failures.join('\n'), { step: ctx.step, task: ctx.task }, { hint: /SANs/.test(failures.join()) ? 'Re-run the pki step (it reissues a certificate whose SANs differ from the spec), then the step that installs it.' : undefined });
    }
    return { changed: false, reason: results.map((result) => result.line).join('; ') };
  },
  describe(ctx, args) {
    const nodes = ctx.run.inventory.nodes;
    if (args.check === 'etcd') {
      return nodes.etcd().map((member) => `curl -fsS -w '\\n' --cacert pki/etcd-ca.pem --cert pki/etcd-healthcheck-client.pem --key pki/etcd-healthcheck-client-key.pem https://${member.internalIP}:2379/health`);
    }
    const kubectl = 'kubectl --kubeconfig kubeconfigs/admin.kubeconfig';
    if (args.check === 'api') {
      const { namespace, name } = VERIFY_CONFIGMAP;
      return [
        `${kubectl} -n ${namespace} create configmap ${name} --from-literal=written="$(date +%s)" --dry-run=client -o yaml | ${kubectl} apply -f -`,
        `${kubectl} -n ${namespace} get configmap ${name} -o jsonpath='{.data.written}{"\\n"}'`,
      ];
    }
    // As apply does, a fresh cluster gets up to a minute to elect its leaders.
    if (args.check === 'leaders') return [`timeout ${LEADER_WAIT_MS / 1000} sh -c ${shellQuote(`until ${kubectl} -n kube-system get lease ${LEADER_LEASES.join(' ')}; do sleep 1; done`)}`];
    if (args.check === 'nodes') {
      return [`${kubectl} wait --for=condition=Ready --timeout=${(2 * LEADER_WAIT_MS) / 1000}s ${nodes.workers().map((worker) => `node/${worker.name}`).join(' ')}`];
    }
    if (args.check === 'apiservers') {
      return nodes.controllers().flatMap((controller) => [
        `curl -fsS -w '\\n' --cacert pki/ca.pem https://${controller.internalIP}:6443/healthz`,
        `curl -fsS -w '\\n' --cacert pki/ca.pem https://${controller.internalIP}:6443/version`,
      ]);
    }
    return [`curl -fsS -w '\\n' --cacert pki/ca.pem ${`https://${ctx.run.inventory.endpoint.host}:${ctx.run.inventory.endpoint.port}`}/healthz`];
  },
});
