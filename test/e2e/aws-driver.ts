// Runs one AWS provider call (or an independent Describe of what exists) against moto and prints
// one JSON line with the result. test/e2e/aws.test.ts runs it inside the test's network namespace
// (`ip netns exec`), so neither the provider nor this script can reach anything but moto on lo.
//
// node test/e2e/aws-driver.ts DIR COMMAND [ARG]
//   DIR holds cluster.json (the spec as data) and the cluster's state and keys.
//   COMMAND: preflight | plan | ensure | destroy | replace NODE | remove NODE | register | deregister NODE |
//            inventory | damage NODE | block | misroute
//   --record               send the provider's requests through a recording proxy (set as aws.endpoint)
//   --abort-after S        abort the run (its AbortSignal) right after a log line starting with S
//   --dependency-ms N      the provider's bound for deletes refused with DependencyViolation
//   --release ID --release-after-ms N   delete route table ID (made by `block`) N ms into the run
import { readFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { DeleteRouteTableCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { StateStore } from '../../src/engine/state.ts';
import { HardwayError } from '../../src/errors.ts';
import { deriveInventory } from '../../src/inventory/derive.ts';
import { createAwsProvider } from '../../src/providers/aws/index.ts';
import { planText, type ProviderContext } from '../../src/providers/provider.ts';
import { clusterSpecSchema } from '../../src/spec/schema.ts';
import { block, damage, inventory, misroute } from './aws-inventory.ts';

const positional: string[] = [];
const flags = new Map<string, string>();
for (let index = 2; index < process.argv.length; index++) {
  const value = process.argv[index] as string;
  if (value === '--record') flags.set('record', 'true');
  else if (value.startsWith('--')) flags.set(value.slice(2), process.argv[++index] ?? '');
  else positional.push(value);
}
const [dir = '', command = '', arg = ''] = positional;
const record = flags.has('record');
const abortAfter = flags.get('abort-after');

const specInput = JSON.parse(await readFile(join(dir, 'cluster.json'), 'utf8')) as Record<string, unknown>;
const motoEndpoint = process.env.AWS_ENDPOINT_URL ?? '';
const requests: Record<string, string>[] = [];
let proxy: Server | undefined;
if (record) {
  proxy = await startRecordingProxy(motoEndpoint, requests);
  const address = proxy.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  // The spec's endpoint wins over AWS_ENDPOINT_URL: this also exercises aws.endpoint.
  specInput.aws = { ...(specInput.aws as object), endpoint: `http://127.0.0.1:${port}` };
}
const spec = clusterSpecSchema.parse(specInput);
const state = await StateStore.open(dir, spec.name);
const logs: string[] = [];
const controller = new AbortController();
const ctx: ProviderContext = {
  spec,
  clusterDir: dir,
  state,
  inventory: deriveInventory(spec),
  log: (line) => {
    logs.push(line);
    process.stderr.write(`${line}\n`);
    if (abortAfter && line.startsWith(abortAfter)) controller.abort(new Error(`test abort after "${line}"`));
  },
  signal: controller.signal,
};
// Moto answers at once; short polls keep the run quick, and the bounds stay real bounds.
const provider = createAwsProvider({
  waits: {
    pollInitialMs: 50,
    pollMaxMs: 200,
    targetsHealthyMs: 20_000,
    loadBalancerActiveMs: 20_000,
    ...(flags.has('dependency-ms') ? { dependencyMs: Number(flags.get('dependency-ms')) } : {}),
  },
});
const release = flags.get('release');
if (release) {
  // Stands in for AWS releasing a dependency (an ENI, a table) while destroy is retrying.
  setTimeout(() => void clients().ec2.send(new DeleteRouteTableCommand({ RouteTableId: release })), Number(flags.get('release-after-ms') ?? 0));
}
const node = (name: string) => {
  const found = ctx.inventory.nodes.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no node ${name}`);
  return found;
};

let output: Record<string, unknown>;
try {
  let result: unknown;
  switch (command) {
    case 'preflight':
      result = await provider.preflight(ctx);
      break;
    case 'plan':
      result = planText(await provider.plan(ctx));
      break;
    case 'ensure':
      result = await provider.ensure(ctx);
      break;
    case 'destroy':
      result = await provider.destroy(ctx, {});
      break;
    case 'replace':
      result = await provider.replace(ctx, node(arg));
      break;
    case 'remove':
      result = await provider.remove?.(ctx, arg);
      break;
    case 'register':
      result = await provider.registerTargets?.(ctx, ctx.inventory.nodes.filter((candidate) => candidate.roles.includes('controller')));
      break;
    case 'deregister':
      result = await provider.deregisterTargets?.(ctx, [node(arg)]);
      break;
    case 'inventory':
      result = await inventory(clients(), spec.name);
      break;
    case 'damage':
      result = await damage(clients(), spec.name, arg);
      break;
    case 'block':
      result = await block(clients(), spec.name);
      break;
    case 'misroute':
      result = await misroute(clients(), spec.name);
      break;
    default:
      throw new Error(`unknown command ${command}`);
  }
  output = { ok: true, result: result ?? null, logs, requests, state: state.data };
} catch (error) {
  const known = error instanceof HardwayError;
  output = {
    ok: false,
    error: {
      name: error instanceof Error ? error.name : 'unknown',
      message: error instanceof Error ? error.message : String(error),
      exitCode: known ? error.exitCode : undefined,
      hint: known ? error.hint : undefined,
    },
    logs,
    requests,
    state: state.data,
  };
}
proxy?.close();
process.stdout.write(`${JSON.stringify(output)}\n`);

/** Forward every request to moto and keep the form-encoded parameters of each (EC2 and ELBv2 use the query protocol). */
function startRecordingProxy(target: string, into: Record<string, string>[]): Promise<Server> {
  const upstream = new URL(target);
  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      into.push(Object.fromEntries(new URLSearchParams(body.toString())));
      const forward = request(
        { host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers: { ...incoming.headers, host: upstream.host } },
        (response) => {
          outgoing.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(outgoing);
        },
      );
      forward.on('error', (error) => {
        outgoing.writeHead(502);
        outgoing.end(String(error));
      });
      forward.end(body);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function clients() {
  return { ec2: new EC2Client({}), elb: new ElasticLoadBalancingV2Client({}) };
}
