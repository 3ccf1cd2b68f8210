// Kubernetes the hard way's smoke test (chapter 12), run by `hardway smoke` with kubectl and the
// admin kubeconfig, the way a person checks a new cluster: Secrets encrypted in etcd, a Deployment
// Running on the workers, port-forward, logs, exec, a NodePort Service, and pod-to-pod traffic
// across workers. Each check reports on its own; the objects live in the namespace hardway-smoke.
import type { Duplex } from 'node:stream';
import type { RunContext } from '../modules/module.ts';
import { PrerequisiteError } from '../errors.ts';
import { directTcp, viaNode } from '../health/connect.ts';
import { pollUntil } from '../modules/node-probe.ts';

export const SMOKE_NAMESPACE = 'hardway-smoke';
export const SMOKE_IMAGE = 'hardway.local/smoke:1.0';
const SMOKE_PORT = 8080;
const SMOKE_PAGE = 'hardway smoke';

export interface SmokeResult {
  check: string;
  ok: boolean;
  detail: string;
}

export interface SmokeContext {
  run: RunContext;
  kubeconfig: string;
  signal: AbortSignal;
  log: (line: string) => void;
}

/** Why: kubectl is the client users have; a clear error when it is missing, never a stack. */
async function kubectl(ctx: SmokeContext, args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  try {
    const { execa } = await import('execa');
    const result = await execa('kubectl', ['--kubeconfig', ctx.kubeconfig, ...args], { input: options.input, timeout: options.timeoutMs ?? 60_000, cancelSignal: ctx.signal, stripFinalNewline: true });
    return result.stdout;
  } catch (error) {
    const failure = error as { code?: string; stderr?: string; shortMessage?: string };
    if (failure.code === 'ENOENT') throw new PrerequisiteError('hardway smoke needs kubectl on PATH', { hint: 'Install kubectl (Debian: apt install kubernetes-client) and run it again.' });
    throw new Error(`kubectl ${args.join(' ')}: ${(failure.stderr || failure.shortMessage || String(error)).trim().split('\n').slice(-3).join(' ')}`);
  }
}

function deployment(replicas: number): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'smoke', namespace: SMOKE_NAMESPACE },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'smoke' } },
      template: {
        metadata: { labels: { app: 'smoke' } },
        spec: {
          // One pod per worker where possible, so pod-to-pod traffic crosses nodes.
          topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'smoke' } } }],
          containers: [{ name: 'smoke', image: SMOKE_IMAGE, imagePullPolicy: 'Never', ports: [{ containerPort: SMOKE_PORT }] }],
        },
      },
    },
  });
}

async function httpGet(open: () => Promise<Duplex>, host: string, port: number): Promise<string> {
  const socket = await open();
  return new Promise((resolve, reject) => {
    let data = '';
    const timer = setTimeout(() => socket.destroy(new Error(`no HTTP answer from ${host}:${port} within 10s`)), 10_000);
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
    socket.write(`GET / HTTP/1.0\r\nHost: ${host}\r\n\r\n`);
  });
}

function direct(host: string, port: number): () => Promise<Duplex> {
  return () => directTcp(host, port);
}

/** The project's one bounded poll, keeping the value the successful attempt produced. */
async function retry<T>(what: string, timeoutMs: number, signal: AbortSignal, attempt: () => Promise<T>): Promise<T> {
  let value: T | undefined;
  await pollUntil(
    async () => {
      value = await attempt();
    },
    { timeoutMs, what, signal, where: { step: 'smoke' } },
  );
  return value as T;
}

type Check = { name: string; run: (ctx: SmokeContext, pods: PodFacts) => Promise<string> };
interface PodFacts {
  pods: { name: string; ip: string; node: string }[];
}

async function runningPods(ctx: SmokeContext, want: number): Promise<PodFacts> {
  return retry(`${want} smoke pods Running`, 180_000, ctx.signal, async () => {
    const listing = JSON.parse(await kubectl(ctx, ['-n', SMOKE_NAMESPACE, 'get', 'pods', '-l', 'app=smoke', '-o', 'json'])) as { items: Record<string, any>[] };
    const pods = listing.items.filter((pod) => pod.status?.phase === 'Running' && pod.status?.podIP).map((pod) => ({ name: pod.metadata.name as string, ip: pod.status.podIP as string, node: pod.spec.nodeName as string }));
    if (pods.length < want) {
      const states = listing.items.map((pod) => `${pod.metadata.name} ${pod.status?.phase}${pod.status?.containerStatuses?.[0]?.state?.waiting ? ` (${pod.status.containerStatuses[0].state.waiting.reason})` : ''}`);
      throw new Error(states.join(', ') || 'no pods yet');
    }
    return { pods };
  });
}

const CHECKS: Check[] = [
  {
    name: 'port-forward',
    async run(ctx, { pods }) {
      const pod = pods[0]!;
      const localPort = 18_000 + Math.floor(Math.random() * 2000);
      const { execa } = await import('execa');
      const child = execa('kubectl', ['--kubeconfig', ctx.kubeconfig, '-n', SMOKE_NAMESPACE, 'port-forward', `pod/${pod.name}`, `${localPort}:${SMOKE_PORT}`, '--address', '127.0.0.1'], { cancelSignal: ctx.signal, reject: false });
      try {
        const page = await retry('an answer through kubectl port-forward', 30_000, ctx.signal, () => httpGet(direct('127.0.0.1', localPort), '127.0.0.1', localPort).then(expectPage));
        return `127.0.0.1:${localPort} -> ${pod.name}:${SMOKE_PORT} answered ${page}`;
      } finally {
        child.kill('SIGTERM');
        await child.catch(() => undefined);
      }
    },
  },
  {
    name: 'logs',
    async run(ctx, { pods }) {
      // The smoke server logs each request; port-forward's went to this pod before.
      const text = await kubectl(ctx, ['-n', SMOKE_NAMESPACE, 'logs', pods[0]!.name]);
      const request = text.split('\n').find((line) => line.includes('url:/'));
      if (!request) throw new Error(`kubectl logs ${pods[0]!.name} shows no request line: ${JSON.stringify(text.slice(-200))}`);
      return `kubectl logs ${pods[0]!.name}: ${request.trim()}`;
    },
  },
  {
    name: 'exec',
    async run(ctx, { pods }) {
      const text = await kubectl(ctx, ['-n', SMOKE_NAMESPACE, 'exec', pods[0]!.name, '--', 'cat', '/www/index.html']);
      return `kubectl exec ${pods[0]!.name} -- cat /www/index.html: ${expectPage(text)}`;
    },
  },
  {
    name: 'nodeport',
    async run(ctx, { pods }) {
      await kubectl(ctx, ['-n', SMOKE_NAMESPACE, 'expose', 'deployment', 'smoke', '--type=NodePort', `--port=${SMOKE_PORT}`, '--dry-run=client', '-o', 'json']).then((service) => kubectl(ctx, ['apply', '-f', '-'], { input: service }));
      const nodePort = Number(await kubectl(ctx, ['-n', SMOKE_NAMESPACE, 'get', 'service', 'smoke', '-o', 'jsonpath={.spec.ports[0].nodePort}']));
      const worker = ctx.run.inventory.nodes.byName(pods[0]!.node);
      if (!worker) throw new Error(`pod ${pods[0]!.name} runs on ${pods[0]!.node}, not a node of this cluster`);
      // The lab's nodes are on this machine's bridge; elsewhere the worker's own address, reached through its SSH connection.
      const open = ctx.run.spec.provider === 'lab' ? direct(worker.internalIP, nodePort) : () => viaNode({ run: ctx.run, signal: ctx.signal }, worker, worker.internalIP, nodePort);
      const page = await retry(`an answer on NodePort ${nodePort}`, 30_000, ctx.signal, () => httpGet(open, worker.internalIP, nodePort).then(expectPage));
      return `${worker.name} ${worker.internalIP}:${nodePort} answered ${page}`;
    },
  },
  {
    name: 'pod-to-pod',
    async run(ctx, { pods }) {
      const [from, to] = pods.length > 1 && pods[0]!.node !== pods[1]!.node ? [pods[0]!, pods[1]!] : [pods[0]!, pods.at(-1)!];
      const text = await retry(`${from.name} to reach ${to.ip}`, 30_000, ctx.signal, () => kubectl(ctx, ['-n', SMOKE_NAMESPACE, 'exec', from.name, '--', 'wget', '-q', '-O', '-', `http://${to.ip}:${SMOKE_PORT}/`]).then(expectPage));
      return `${from.name} on ${from.node} reached ${to.name} on ${to.node} at ${to.ip}: ${text}`;
    },
  },
];

function expectPage(text: string): string {
  if (!text.includes(SMOKE_PAGE)) throw new Error(`the page did not say "${SMOKE_PAGE}": ${JSON.stringify(text.slice(0, 120))}`);
  return `"${SMOKE_PAGE}"`;
}

/** The Secret check: what etcd holds for it must be the aescbc envelope, not the plain Secret. */
async function secretEncrypted(ctx: SmokeContext): Promise<string> {
  await kubectl(ctx, ['-n', SMOKE_NAMESPACE, 'create', 'secret', 'generic', 'smoke', '--from-literal=mykey=mydata', '--dry-run=client', '-o', 'json']).then((secret) => kubectl(ctx, ['apply', '-f', '-'], { input: secret }));
  const member = ctx.run.inventory.nodes.etcd()[0];
  if (!member) throw new Error('no etcd member to read from');
  const transport = await ctx.run.transports.get(member, ctx.signal);
  const key = `/registry/secrets/${SMOKE_NAMESPACE}/smoke`;
  const { stdout } = await transport.exec(`ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/etcd/ca.pem --cert=/etc/etcd/server.pem --key=/etc/etcd/server-key.pem get ${key} --print-value-only | head -c 64 | tr -c '[:print:]' '.'`, { signal: ctx.signal });
  if (!stdout.startsWith('k8s:enc:aescbc:v1:')) throw new Error(`etcd holds ${key} as ${JSON.stringify(stdout.slice(0, 40))}, not encrypted (k8s:enc:aescbc:v1:)`);
  return `etcd on ${member.name} holds ${key} as k8s:enc:aescbc:v1:key1:...`;
}

/** Why: one run of every smoke check, each reported; the first failure does not hide the rest. */
export async function runSmoke(ctx: SmokeContext): Promise<SmokeResult[]> {
  const workers = ctx.run.inventory.nodes.workers();
  const results: SmokeResult[] = [];
  const record = async (check: string, run: () => Promise<string>) => {
    try {
      const detail = await run();
      results.push({ check, ok: true, detail });
    } catch (error) {
      if (error instanceof PrerequisiteError) throw error;
      results.push({ check, ok: false, detail: (error as Error).message });
    }
    ctx.log(`${results.at(-1)!.ok ? 'ok  ' : 'FAIL'} ${check}: ${results.at(-1)!.detail}`);
  };
  await kubectl(ctx, ['create', 'namespace', SMOKE_NAMESPACE, '--dry-run=client', '-o', 'json']).then((namespace) => kubectl(ctx, ['apply', '-f', '-'], { input: namespace }));
  await record('secret-encrypted', () => secretEncrypted(ctx));
  if (!workers.length) {
    results.push({ check: 'workers', ok: false, detail: 'the cluster has no workers (nodes.workers.count); pods cannot run' });
    return results;
  }
  let pods: PodFacts | undefined;
  await record('deployment', async () => {
    await kubectl(ctx, ['apply', '-f', '-'], { input: deployment(Math.max(2, workers.length)) });
    pods = await runningPods(ctx, Math.max(2, workers.length));
    return `${pods.pods.length} pods Running on ${[...new Set(pods.pods.map((pod) => pod.node))].join(', ')}`;
  });
  for (const check of CHECKS) {
    if (!pods) results.push({ check: check.name, ok: false, detail: 'skipped: no Running smoke pods' });
    else await record(check.name, () => check.run(ctx, pods!));
  }
  return results;
}

/** Removes what the smoke test made (the namespace and everything in it). */
export async function cleanSmoke(ctx: SmokeContext): Promise<void> {
  await kubectl(ctx, ['delete', 'namespace', SMOKE_NAMESPACE, '--ignore-not-found', '--wait=false']);
}
