// Task module `kubeconfig` (local): writes kubeconfigs/<name>.kubeconfig with the CA and a client
// certificate embedded, rewriting it only when its content would change.
import { z } from 'zod';
import { HardwayError } from '../errors.ts';
import { checkKubeconfigSources, describeKubeconfig, kubeconfigFile, renderKubeconfig } from '../pki/kubeconfig.ts';
import { chmodClusterFile, displayPath, KEY_MODE, modeOf, octal, pkiFiles, readOptional, writeClusterFile } from '../pki/store.ts';
import { type Node } from '../inventory/node.ts';
import { type RunContext, defineModule, type CheckResult } from './module.ts';

const args = z.strictObject({
  /** File name: kubeconfigs/<name>.kubeconfig. */
  name: z.string().regex(/^[a-z0-9][-a-z0-9.]*$/, { message: 'must be a file name like admin' }),
  /** The certificate of the catalogue to embed (pki/<cert>.pem and pki/<cert>-key.pem). */
  cert: z.string().min(1),
  /** The user name inside the kubeconfig, e.g. system:kube-scheduler. */
  user: z.string().min(1),
  /** The apiserver URL: `${apiEndpoint}` (the load balancer) or https://127.0.0.1:6443 on controllers. */
  server: z.string().refine(isServerUrl, { message: 'must be an https URL with a host, like https://127.0.0.1:6443' }),
});

type Args = z.output<typeof args>;

/** `https://HOST[:PORT]` and nothing else: an empty host (an NLB name not known yet) must not slip through. */
function isServerUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' && url.hostname !== '' && url.pathname === '/' && !url.search && !url.hash && !value.endsWith('/');
  } catch {
    return false;
  }
}

interface Rendered {
  text: string | undefined;
  missing: string[];
}

async function render(run: RunContext, { cert, user, server }: Args): Promise<Rendered> {
  const files = [pkiFiles.cert('ca'), pkiFiles.cert(cert), pkiFiles.key(cert)];
  const [caPem, certPem, keyPem] = await Promise.all(files.map((file) => readOptional(run.clusterDir, file)));
  const missing = files.filter((_, index) => [caPem, certPem, keyPem][index] === undefined);
  if (caPem === undefined || certPem === undefined || keyPem === undefined) return { text: undefined, missing };
  const shown = files.map((file) => displayPath(run.clusterDir, file));
  checkKubeconfigSources({ ca: { file: shown[0]!, pem: caPem }, cert: { file: shown[1]!, pem: certPem }, key: { file: shown[2]!, pem: keyPem } }, 'Fix or remove it and run `hardway provision --step pki` to issue it again.');
  return { text: renderKubeconfig({ cluster: run.spec.name, server, user, caPem, certPem, keyPem }), missing };
}

/**
 * What check decided for one kubeconfig: write it (with the text check rendered, or rendered at
 * apply time when the pki step of this run has not made its certificates yet), or only chmod it.
 */
export type KubeconfigPlan = { action: 'write'; text?: string } | { action: 'chmod' };

/** Why: kubeconfigs follow the certificates; a reissued cert must reach the file, an unchanged one must not touch it. */
export const kubeconfigModule = defineModule({
  name: 'kubeconfig',
  where: 'local',
  summary: 'Write a kubeconfig with the CA and a client certificate embedded',
  args,
  check: (ctx, taskArgs) => checkKubeconfig(ctx.run, taskArgs),
  async apply(ctx, taskArgs, check) {
    await carryOut(ctx.run, taskArgs, check.plan ?? FRESH, ctx.log);
    return { changed: true, reason: check.reason };
  },
  describe: (ctx, taskArgs, plan) => describeOne(ctx.run, taskArgs, plan ?? FRESH),
});

/** A kubeconfig never written: made whole. */
const FRESH: KubeconfigPlan = { action: 'write' };

async function checkKubeconfig(run: RunContext, taskArgs: Args): Promise<CheckResult<KubeconfigPlan>> {
  const file = kubeconfigFile(taskArgs.name);
  const { text, missing } = await render(run, taskArgs);
  if (text === undefined) return { changed: true, reason: `write ${file} once ${missing.join(', ')} exist (the pki step makes them)`, plan: FRESH };
  const current = await readOptional(run.clusterDir, file);
  if (current === undefined) return { changed: true, reason: `write ${file}: missing`, plan: { action: 'write', text } };
  if (current !== text) return { changed: true, reason: `rewrite ${file}: server or embedded certificates changed`, plan: { action: 'write', text } };
  const mode = await modeOf(run.clusterDir, file);
  if (mode !== KEY_MODE) return { changed: true, reason: `chmod 600 ${file} (was ${octal(mode ?? 0)})`, plan: { action: 'chmod' } };
  return { changed: false, reason: 'content matches' };
}

async function carryOut(run: RunContext, taskArgs: Args, plan: KubeconfigPlan, log: (line: string) => void): Promise<void> {
  const file = kubeconfigFile(taskArgs.name);
  if (plan.action === 'chmod') {
    await chmodClusterFile(run.clusterDir, file, KEY_MODE);
    log(`chmod 600 ${file}`);
    return;
  }
  let text = plan.text;
  if (text === undefined) {
    const rendered = await render(run, taskArgs);
    if (rendered.text === undefined) throw new HardwayError(`cannot write ${file}: ${rendered.missing.join(', ')} missing`, { hint: 'Run the pki step first: hardway provision --step pki' });
    text = rendered.text;
  }
  await writeClusterFile(run.clusterDir, file, text, KEY_MODE);
  log(`wrote ${file} (server ${taskArgs.server}, user ${taskArgs.user})`);
}

function describeOne(run: RunContext, { name, cert, user, server }: Args, plan: KubeconfigPlan): string[] {
  const file = kubeconfigFile(name);
  if (plan.action === 'chmod') return [`chmod 600 ${file}`];
  return describeKubeconfig(file, {
    cluster: run.spec.name,
    server,
    user,
    caFile: pkiFiles.cert('ca'),
    certFile: pkiFiles.cert(cert),
    keyFile: pkiFiles.key(cert),
  });
}

/** A worker's kubelet kubeconfig: its own client certificate, the identity the Node authorizer checks. */
function workerKubeconfigArgs(node: Node, server: string): Args {
  return { name: node.name, cert: `kubelet-client-${node.name}`, user: `system:node:${node.name}`, server };
}

/** The workers whose kubeconfig needs work, each with its plan. */
type WorkerKubeconfigsPlan = { worker: string; args: Args; plan: KubeconfigPlan }[];

/** Why: one kubeconfig per worker, however many the spec has; a playbook cannot list them by hand. */
export const workerKubeconfigsModule = defineModule({
  name: 'worker-kubeconfigs',
  where: 'local',
  summary: 'Write one kubelet kubeconfig per worker (system:node:NAME)',
  args: z.strictObject({ server: args.shape.server }),
  async check(ctx, { server }): Promise<CheckResult<WorkerKubeconfigsPlan>> {
    const workers = ctx.run.inventory.nodes.workers();
    const changes: string[] = [];
    const plan: WorkerKubeconfigsPlan = [];
    for (const node of workers) {
      const workerArgs = workerKubeconfigArgs(node, server);
      const result = await checkKubeconfig(ctx.run, workerArgs);
      if (!result.changed) continue;
      changes.push(`${node.name}: ${result.reason}`);
      plan.push({ worker: node.name, args: workerArgs, plan: result.plan ?? FRESH });
    }
    if (!changes.length) return { changed: false, reason: workers.length ? `${workers.length} kubeconfigs match` : 'no workers' };
    return { changed: true, reason: changes.join('; '), plan };
  },
  async apply(ctx, { server }, check) {
    const planned = check.plan ?? freshWorkers(ctx.run, server);
    for (const { args: workerArgs, plan } of planned) await carryOut(ctx.run, workerArgs, plan, ctx.log);
    return { changed: planned.length > 0, reason: `wrote the kubeconfigs of ${planned.map((entry) => entry.worker).join(', ')}` };
  },
  describe(ctx, { server }, plan) {
    return (plan ?? freshWorkers(ctx.run, server)).flatMap((entry) => describeOne(ctx.run, entry.args, entry.plan));
  },
});

/** Every worker's kubeconfig made whole: explain, and a cluster never built. */
function freshWorkers(run: RunContext, server: string): WorkerKubeconfigsPlan {
  return run.inventory.nodes.workers().map((node) => ({ worker: node.name, args: workerKubeconfigArgs(node, server), plan: FRESH }));
}
