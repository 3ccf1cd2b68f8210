// The units/ templates rendered for the example lab inventories: the flags that must agree across
// files and nodes do (one service CIDR, one issuer, every etcd member), the real etcd and haproxy
// accept what is rendered, and the stand-ins accept the rendered kube-* flags.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { templateVars } from '../../src/engine/vars.ts';
import { addressInCidr, cidrContains } from '../../src/inventory/ipv4.ts';
import { labSpecInput, projectRoot, testRunContext } from '../helpers/context.ts';
import { etcdBinary, runToExit, startStandin } from '../standins/fixtures.ts';
import { execStart, flagMap, renderUnit } from './render.ts';

const run = promisify(execFile);

const external = testRunContext();
const stacked = testRunContext({ spec: { name: 'stacked', provider: 'lab', topology: 'stacked', nodes: { controllers: { count: 3 } } } });
const customNetwork = testRunContext({
  spec: {
    name: 'custom',
    provider: 'lab',
    network: { serviceCIDR: '10.96.0.0/12', clusterCIDR: '10.244.0.0/16' },
    nodes: { controllers: { count: 3 }, etcd: { count: 3 } },
    loadBalancer: { port: 8443 },
  },
});

function nodesOf(context: typeof external) {
  return context.inventory.nodes;
}

function flagsOf(context: typeof external, template: string, nodeName: string, extra: Record<string, unknown> = {}) {
  const node = nodesOf(context).byName(nodeName);
  if (!node) throw new Error(`no node ${nodeName}`);
  return flagMap(execStart(renderUnit(context, template, node, extra)));
}

describe('etcd.service', () => {
  for (const context of [external, stacked]) {
    it(`lists every member in --initial-cluster and uses the node's own names and addresses (${context.spec.topology})`, () => {
      const members = nodesOf(context).etcd();
      expect(members.length).toBe(3);
      for (const member of members) {
        const flags = flagsOf(context, 'etcd.service', member.name);
        expect(flags.get('name')).toBe(member.name);
        expect(flags.get('initial-cluster')?.split(',')).toEqual(members.map((peer) => `${peer.name}=https://${peer.internalIP}:2380`));
        expect(flags.get('listen-peer-urls')).toBe(`https://${member.internalIP}:2380`);
        expect(flags.get('initial-advertise-peer-urls')).toBe(`https://${member.internalIP}:2380`);
        expect(flags.get('advertise-client-urls')).toBe(`https://${member.internalIP}:2379`);
        expect(flags.get('listen-client-urls')).toBe(`https://${member.internalIP}:2379,https://127.0.0.1:2379`);
        expect(flags.get('initial-cluster-state')).toBe('new');
        expect(flags.get('data-dir')).toBe('/var/lib/etcd');
      }
    });
  }

  it('turns on TLS and client-certificate auth for clients and peers', () => {
    const flags = flagsOf(external, 'etcd.service', 'etcd-1');
    expect(Object.fromEntries([...flags].filter(([name]) => /file|auth/.test(name)))).toEqual({
      'cert-file': '/etc/etcd/server.pem',
      'key-file': '/etc/etcd/server-key.pem',
      'trusted-ca-file': '/etc/etcd/ca.pem',
      'client-cert-auth': 'true',
      'peer-cert-file': '/etc/etcd/peer.pem',
      'peer-key-file': '/etc/etcd/peer-key.pem',
      'peer-trusted-ca-file': '/etc/etcd/ca.pem',
      'peer-client-cert-auth': 'true',
    });
  });

  it('takes --initial-cluster-state from a variable (a rebuilt member joins an existing cluster)', () => {
    expect(flagsOf(external, 'etcd.service', 'etcd-2', { etcdInitialClusterState: 'existing' }).get('initial-cluster-state')).toBe('existing');
  });

  it('passes only flags the real etcd knows', async () => {
    const { stdout, stderr } = await run(etcdBinary, ['--help']).catch((error: { stdout: string; stderr: string }) => error);
    const known = new Set([...`${stdout}${stderr}`.matchAll(/^\s+--([a-z0-9-]+)/gm)].map((match) => match[1]));
    expect(known.size).toBeGreaterThan(50);
    const flags = flagsOf(external, 'etcd.service', 'etcd-0');
    expect([...flags.keys()].filter((name) => !known.has(name))).toEqual([]);
  });
});

describe('kube-apiserver.service', () => {
  for (const context of [external, stacked, customNetwork]) {
    it(`uses one service CIDR, one issuer and every etcd member on every controller (${context.spec.name})`, async () => {
      const controllers = nodesOf(context).controllers();
      const etcdServers = nodesOf(context).etcd().map((member) => `https://${member.internalIP}:2379`).join(',');
      const apiEndpoint = `https://${context.inventory.endpoint.host}:${context.inventory.endpoint.port}`;
      const issuers = new Set<string>();
      for (const controller of controllers) {
        const flags = flagsOf(context, 'kube-apiserver.service', controller.name);
        expect(flags.get('service-cluster-ip-range')).toBe(context.spec.network.serviceCIDR);
        expect(flags.get('advertise-address')).toBe(controller.internalIP);
        expect(flags.get('etcd-servers')).toBe(etcdServers);
        expect(flags.get('authorization-mode')).toBe('Node,RBAC');
        expect(flags.get('secure-port')).toBe('6443');
        issuers.add(flags.get('service-account-issuer') ?? '');
      }
      expect([...issuers]).toEqual([apiEndpoint]);
    });
  }

  it('names the PKI files the playbooks install under /var/lib/kubernetes', () => {
    const flags = flagsOf(external, 'kube-apiserver.service', 'controller-0');
    expect(Object.fromEntries([...flags].filter(([, value]) => value.startsWith('/var/lib/kubernetes/')))).toEqual({
      'client-ca-file': '/var/lib/kubernetes/ca.pem',
      'encryption-provider-config': '/var/lib/kubernetes/encryption-config.yaml',
      'etcd-cafile': '/var/lib/kubernetes/etcd-ca.pem',
      'etcd-certfile': '/var/lib/kubernetes/apiserver-etcd-client.pem',
      'etcd-keyfile': '/var/lib/kubernetes/apiserver-etcd-client-key.pem',
      'kubelet-certificate-authority': '/var/lib/kubernetes/ca.pem',
      'kubelet-client-certificate': '/var/lib/kubernetes/apiserver-kubelet-client.pem',
      'kubelet-client-key': '/var/lib/kubernetes/apiserver-kubelet-client-key.pem',
      'service-account-key-file': '/var/lib/kubernetes/service-account.pem',
      'service-account-signing-key-file': '/var/lib/kubernetes/service-account-key.pem',
      'tls-cert-file': '/var/lib/kubernetes/kube-apiserver.pem',
      'tls-private-key-file': '/var/lib/kubernetes/kube-apiserver-key.pem',
    });
  });
});

describe('kube-controller-manager.service and kube-scheduler.service', () => {
  for (const context of [external, customNetwork]) {
    it(`agree with the apiserver on the service CIDR and elect a leader (${context.spec.name})`, () => {
      const controller = nodesOf(context).controllers()[0]!;
      const apiserver = flagsOf(context, 'kube-apiserver.service', controller.name);
      const cm = flagsOf(context, 'kube-controller-manager.service', controller.name);
      expect(cm.get('service-cluster-ip-range')).toBe(apiserver.get('service-cluster-ip-range'));
      const serviceIP = templateVars(context, controller).kubernetesServiceIP;
      expect(serviceIP).toBe(addressInCidr(context.spec.network.serviceCIDR, 1));
      expect(cidrContains(cm.get('service-cluster-ip-range') ?? '', serviceIP)).toBe(true);
      expect(cm.get('cluster-cidr')).toBe(context.spec.network.clusterCIDR);
      expect(cm.get('leader-elect')).toBe('true');
      expect(cm.get('kubeconfig')).toBe('/var/lib/kubernetes/kube-controller-manager.kubeconfig');
      expect(cm.get('cluster-signing-cert-file')).toBe('/var/lib/kubernetes/ca.pem');
      expect(cm.get('cluster-signing-key-file')).toBe('/var/lib/kubernetes/ca-key.pem');
      expect(cm.get('service-account-private-key-file')).toBe(apiserver.get('service-account-signing-key-file'));
      const scheduler = flagsOf(context, 'kube-scheduler.service', controller.name);
      expect(scheduler.get('leader-elect')).toBe('true');
      expect(scheduler.get('config')).toBe('/etc/kubernetes/config/kube-scheduler.yaml');
    });
  }

  it('renders a KubeSchedulerConfiguration of the current API version pointing at the scheduler kubeconfig', () => {
    const config = parse(renderUnit(external, 'kube-scheduler.yaml', nodesOf(external).controllers()[0])) as Record<string, any>;
    expect(config).toEqual({
      apiVersion: 'kubescheduler.config.k8s.io/v1',
      kind: 'KubeSchedulerConfiguration',
      clientConnection: { kubeconfig: '/var/lib/kubernetes/kube-scheduler.kubeconfig' },
      leaderElection: { leaderElect: true },
    });
  });

  it('renders what Kubernetes 1.20 needs: the v1beta1 scheduler config, the insecure ports off', () => {
    const old = testRunContext({ spec: { ...labSpecInput, versions: { kubernetes: '1.20.2' } } });
    const controller = nodesOf(old).controllers()[0]!;
    expect((parse(renderUnit(old, 'kube-scheduler.yaml', controller)) as Record<string, unknown>).apiVersion).toBe('kubescheduler.config.k8s.io/v1beta1');
    expect(flagsOf(old, 'kube-scheduler.service', controller.name).get('port')).toBe('0');
    expect(flagsOf(old, 'kube-controller-manager.service', controller.name).get('port')).toBe('0');
    expect(flagsOf(external, 'kube-scheduler.service', controller.name).has('port')).toBe(false);
    // The apiserver reaches kubelets by address: node names need not resolve.
    expect(flagsOf(old, 'kube-apiserver.service', controller.name).get('kubelet-preferred-address-types')).toBe('InternalIP,Hostname');
  });
});

describe('the stand-ins accept the rendered flags', () => {
  for (const [template, program] of [
    ['kube-apiserver.service', 'kube-apiserver'],
    ['kube-controller-manager.service', 'kube-controller-manager'],
    ['kube-scheduler.service', 'kube-scheduler'],
  ] as const) {
    it(`${program} (flag validation mode)`, async () => {
      for (const context of [external, customNetwork]) {
        const argv = execStart(renderUnit(context, template, nodesOf(context).controllers()[0]));
        expect(argv[0]).toBe(`/usr/local/bin/${program}`);
        const result = await runToExit(startStandin(program, argv.slice(1), { HARDWAY_STANDIN_CHECK_FLAGS: '1' }));
        expect(result).toMatchObject({ code: 0, stderr: '' });
      }
    });
  }
});

describe('haproxy.cfg', () => {
  it('sends the LB port to every controller on 6443 with TLS health checks of /readyz', () => {
    const config = renderUnit(customNetwork, 'haproxy.cfg', nodesOf(customNetwork).lb()[0]);
    expect(config).toMatch(/^\s+bind \*:8443 /m);
    const servers = [...config.matchAll(/^\s+server (\S+) (\S+) check$/gm)].map((match) => [match[1], match[2]]);
    expect(servers).toEqual(nodesOf(customNetwork).controllers().map((node) => [node.name, `${node.internalIP}:6443`]));
    expect(config).toContain('option httpchk GET /readyz');
    expect(config).toMatch(/default-server .*check-ssl verify none/);
  });

  it('takes a stopping apiserver out before its port closes: its shutdown delay outlasts haproxy noticing', () => {
    const config = renderUnit(customNetwork, 'haproxy.cfg', nodesOf(customNetwork).lb()[0]);
    const check = /default-server inter (\d+)s fall (\d+)/.exec(config);
    expect(check).not.toBeNull();
    // haproxy marks a server down after `fall` failed checks `inter` apart (plus one check's timeout).
    const noticedWithin = Number(check![1]) * Number(check![2]) + Number(/timeout check (\d+)s/.exec(config)?.[1] ?? NaN) / 3;
    const controller = nodesOf(customNetwork).controllers()[0]!;
    const unit = renderUnit(customNetwork, 'kube-apiserver.service', controller);
    const delay = Number(/--shutdown-delay-duration=(\d+)s/.exec(unit)?.[1] ?? NaN);
    const stopTimeout = Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1] ?? NaN);
    expect(delay).toBeGreaterThan(noticedWithin);
    // systemd must not kill it before the delay and the in-flight requests are over.
    expect(stopTimeout).toBeGreaterThan(delay + 10);
  });

  it('is a configuration haproxy accepts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'haproxy-cfg-'));
    try {
      const file = join(dir, 'haproxy.cfg');
      await writeFile(file, renderUnit(external, 'haproxy.cfg', nodesOf(external).lb()[0]));
      const { stdout } = await run('haproxy', ['-c', '-f', file]);
      expect(stdout).toContain('Configuration file is valid');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('units/README.md', () => {
  it('lists every remote path the units use', async () => {
    const readme = await readFile(join(projectRoot, 'units', 'README.md'), 'utf8');
    const paths = new Set<string>();
    for (const template of ['etcd.service', 'kube-apiserver.service', 'kube-controller-manager.service', 'kube-scheduler.service', 'kube-scheduler.yaml']) {
      const text = renderUnit(external, template, nodesOf(external).controllers()[0]);
      for (const match of text.matchAll(/(\/(?:etc|var|usr)\/[A-Za-z0-9_./-]+[A-Za-z0-9_])/g)) paths.add(match[1]!);
    }
    expect(paths.size).toBeGreaterThan(15);
    expect([...paths].filter((path) => !readme.includes(`\`${path}\``))).toEqual([]);
  });
});
