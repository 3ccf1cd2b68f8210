// One set of certificates for the stand-in tests, shaped like hardway's catalogue (DESIGN §6): an
// etcd CA and its server/client certs, the cluster CA, the apiserver serving cert, admin and
// component client certs, service-account keys and an encryption config.
import { join } from 'node:path';
import { encryptionConfig, issue, makeCA, serviceAccountKeys, type KeyPair } from './fixtures.ts';

export interface TestPki {
  dir: string;
  etcdCA: KeyPair;
  etcdServer: KeyPair;
  etcdClient: KeyPair;
  ca: KeyPair;
  apiserver: KeyPair;
  kubeletClient: KeyPair;
  admin: KeyPair;
  controllerManager: KeyPair;
  scheduler: KeyPair;
  serviceAccount: { key: string; pub: string };
  encryption: string;
}

export const SERVICE_CIDR = '10.32.0.0/24';

/** Why: every stand-in test needs the same consistent cluster PKI; making it once saves seconds. */
export async function makeTestPki(dir: string): Promise<TestPki> {
  const etcdCA = await makeCA(dir, 'etcd-ca');
  const ca = await makeCA(dir, 'ca', 'Kubernetes');
  const [etcdServer, etcdClient, apiserver, kubeletClient, admin, controllerManager, scheduler, serviceAccount, encryption] = await Promise.all([
    issue(dir, etcdCA, 'etcd-server', { cn: 'etcd-0', hosts: ['etcd-0', '127.0.0.1', 'localhost'], usages: ['server', 'client'] }),
    issue(dir, etcdCA, 'apiserver-etcd-client', { cn: 'kube-apiserver-etcd-client', usages: ['client'] }),
    issue(dir, ca, 'kube-apiserver', {
      cn: 'kube-apiserver',
      hosts: ['10.32.0.1', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', '127.0.0.1'],
      usages: ['server'],
    }),
    issue(dir, ca, 'apiserver-kubelet-client', { cn: 'kube-apiserver-kubelet-client', o: 'system:masters', usages: ['client'] }),
    issue(dir, ca, 'admin', { cn: 'admin', o: 'system:masters', usages: ['client'] }),
    issue(dir, ca, 'kube-controller-manager', { cn: 'system:kube-controller-manager', o: 'system:kube-controller-manager', usages: ['client'] }),
    issue(dir, ca, 'kube-scheduler', { cn: 'system:kube-scheduler', o: 'system:kube-scheduler', usages: ['client'] }),
    serviceAccountKeys(dir),
    encryptionConfig(join(dir, 'encryption-config.yaml')),
  ]);
  return { dir, etcdCA, etcdServer, etcdClient, ca, apiserver, kubeletClient, admin, controllerManager, scheduler, serviceAccount, encryption };
}

/** kube-apiserver flags as units/kube-apiserver.service passes them, with test paths and ports. */
export function apiserverArgs(pki: TestPki, etcdServers: string, port: number, overrides: Record<string, string> = {}): string[] {
  const flags: Record<string, string> = {
    'advertise-address': '127.0.0.1',
    'allow-privileged': 'true',
    'authorization-mode': 'Node,RBAC',
    'bind-address': '127.0.0.1',
    'client-ca-file': pki.ca.cert,
    'enable-admission-plugins': 'NamespaceLifecycle,NodeRestriction,LimitRanger,ServiceAccount,DefaultStorageClass,ResourceQuota',
    'encryption-provider-config': pki.encryption,
    'etcd-cafile': pki.etcdCA.cert,
    'etcd-certfile': pki.etcdClient.cert,
    'etcd-keyfile': pki.etcdClient.key,
    'etcd-servers': etcdServers,
    'kubelet-certificate-authority': pki.ca.cert,
    'kubelet-client-certificate': pki.kubeletClient.cert,
    'kubelet-client-key': pki.kubeletClient.key,
    'runtime-config': 'api/all=true',
    'secure-port': String(port),
    'service-account-issuer': 'https://10.240.0.30:6443',
    'service-account-key-file': pki.serviceAccount.pub,
    'service-account-signing-key-file': pki.serviceAccount.key,
    'service-cluster-ip-range': SERVICE_CIDR,
    'tls-cert-file': pki.apiserver.cert,
    'tls-private-key-file': pki.apiserver.key,
    v: '2',
    ...overrides,
  };
  return Object.entries(flags).map(([name, value]) => `--${name}=${value}`);
}
