// Health probes shared by `verify` and `status`: every etcd member's /health over mutual TLS,
// every API server's /healthz and /version, and /healthz through the load balancer, each checked
// against the CA and the address it was reached at, so a missing SAN names the cert and the name.
import { checkWorkersReady } from './node-checks.ts';
import type { Duplex } from 'node:stream';
import { httpGet } from '../modules/node-probe.ts';
import { checkLeaders, checkWriteRead } from './api-checks.ts';
import { directTcp, files, viaNode, type HealthContext, type HealthResult, type Tls } from './connect.ts';

export const HEALTH_CHECKS = ['etcd', 'apiservers', 'loadbalancer', 'api', 'leaders', 'nodes'] as const;
export type HealthCheck = (typeof HEALTH_CHECKS)[number];
export type { HealthContext, HealthResult };

interface Probe {
  what: string;
  url: URL;
  tls: Tls;
  /** Opens the TCP connection: through a node (SSH) or directly from the workstation. */
  open: () => Promise<Duplex>;
}

/** Turn Node's TLS errors into the certificate and name a person must fix. */
export function explainTlsError(error: Error & { code?: string }, probe: Pick<Probe, 'url' | 'tls' | 'what'>): string {
  const host = probe.url.hostname;
  if (error.code === 'ERR_TLS_CERT_ALTNAME_INVALID' || /does not match certificate's altnames/.test(error.message)) {
    const list = /cert's (?:list|altnames): (.*)$/.exec(error.message)?.[1] ?? error.message;
    return `${probe.what}: the certificate ${probe.tls.serverCert} does not include ${host} in its SANs (it has: ${list})`;
  }
  if (/self[- ]signed|unable to verify|UNABLE_TO_VERIFY|unknown ca/i.test(`${error.code ?? ''} ${error.message}`)) {
    return `${probe.what}: the server's certificate is not signed by the expected CA (${error.code ?? error.message}); expected ${probe.tls.serverCert}`;
  }
  return `${probe.what}: ${error.message}`;
}

async function fetchOnce(probe: Probe, signal: AbortSignal): Promise<{ status: number; body: string }> {
  const socket = await probe.open();
  return httpGet(socket, probe.url, probe.tls, signal);
}

/** The probes for one check, for this cluster. */
async function probesFor(ctx: HealthContext, check: Exclude<HealthCheck, 'api' | 'leaders' | 'nodes'>): Promise<{ probe: Probe; expect: (response: { status: number; body: string }) => string }[]> {
  const nodes = ctx.run.inventory.nodes;
  if (check === 'etcd') {
    const tls = await files(ctx, { ca: 'pki/etcd-ca.pem', cert: 'pki/etcd-healthcheck-client.pem', key: 'pki/etcd-healthcheck-client-key.pem' }, 'pki/etcd-server-<member>.pem');
    return nodes.etcd().map((member) => ({
      probe: {
        what: `etcd member ${member.name}`,
        url: new URL(`https://${member.internalIP}:2379/health`),
        tls: { ...tls, serverCert: `pki/etcd-server-${member.name}.pem` },
        open: () => viaNode(ctx, member, member.internalIP, 2379),
      },
      expect: ({ status, body }) => {
        if (status !== 200 || !/"health"\s*:\s*"true"/.test(body)) throw new Error(`unhealthy: HTTP ${status} ${body.trim()}`);
        return 'healthy';
      },
    }));
  }
  const tls = await files(ctx, { ca: 'pki/ca.pem', cert: 'pki/admin.pem', key: 'pki/admin-key.pem' }, 'pki/kube-apiserver.pem');
  const healthz = ({ status, body }: { status: number; body: string }) => {
    if (status !== 200) throw new Error(`/healthz answered HTTP ${status}: ${body.trim()}`);
    return 'ok';
  };
  if (check === 'apiservers') {
    return nodes.controllers().flatMap((controller) => [
      {
        probe: { what: `kube-apiserver on ${controller.name}`, url: new URL(`https://${controller.internalIP}:6443/healthz`), tls, open: () => viaNode(ctx, controller, controller.internalIP, 6443) },
        expect: healthz,
      },
      {
        probe: { what: `kube-apiserver /version on ${controller.name}`, url: new URL(`https://${controller.internalIP}:6443/version`), tls, open: () => viaNode(ctx, controller, controller.internalIP, 6443) },
        expect: ({ status, body }: { status: number; body: string }) => {
          const version = /"gitVersion"\s*:\s*"([^"]+)"/.exec(body)?.[1];
          if (status !== 200 || !version) throw new Error(`/version answered HTTP ${status}: ${body.trim()}`);
          const wanted = `v${ctx.run.spec.versions.kubernetes}`;
          if (version !== wanted) throw new Error(`runs ${version}, the spec asks for ${wanted}`);
          return version;
        },
      },
    ]);
  }
  const endpoint = ctx.run.inventory.endpoint;
  return [
    {
      probe: { what: `the load balancer ${endpoint.host}:${endpoint.port}`, url: new URL(`https://${endpoint.host}:${endpoint.port}/healthz`), tls, open: () => directTcp(endpoint.host, endpoint.port) },
      expect: healthz,
    },
  ];
}


/** Why: one implementation of "is it healthy, as a client sees it" for verify and status. */
export async function probeHealth(ctx: HealthContext, check: HealthCheck, options: { waitMs?: number } = {}): Promise<HealthResult[]> {
  if (check === 'api') return checkWriteRead(ctx);
  if (check === 'leaders') return checkLeaders(ctx, options.waitMs ?? 0);
  if (check === 'nodes') return checkWorkersReady(ctx, 2 * (options.waitMs ?? 0));
  const probes = await probesFor(ctx, check);
  return Promise.all(
    probes.map(async ({ probe, expect }) => {
      try {
        return { what: probe.what, ok: true, detail: expect(await fetchOnce(probe, ctx.signal)) };
      } catch (error) {
        return { what: probe.what, ok: false, detail: explainTlsError(error as Error, probe).slice(probe.what.length + 2) };
      }
    }),
  );
}
