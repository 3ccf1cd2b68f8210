// The stand-ins parse flags as the real binaries do (pflag): unknown or malformed flags and missing
// required ones are an `Error: ...` and exit 1, before any file is read.
import { describe, expect, it } from 'vitest';
import { runToExit, startStandin } from './fixtures.ts';

const CHECK = { HARDWAY_STANDIN_CHECK_FLAGS: '1' };

const apiserverFlags = [
  '--etcd-servers=https://10.240.0.20:2379,https://10.240.0.21:2379',
  '--etcd-cafile=/nonexistent/etcd-ca.pem',
  '--etcd-certfile=/nonexistent/c.pem',
  '--etcd-keyfile=/nonexistent/k.pem',
  '--service-cluster-ip-range=10.32.0.0/24',
  '--service-account-issuer=https://10.240.0.30:6443',
  '--service-account-key-file=/nonexistent/sa.pem',
  '--service-account-signing-key-file=/nonexistent/sa-key.pem',
  '--tls-cert-file=/nonexistent/apiserver.pem',
  '--tls-private-key-file=/nonexistent/apiserver-key.pem',
  '--client-ca-file=/nonexistent/ca.pem',
  '--encryption-provider-config=/nonexistent/encryption-config.yaml',
];

describe('stand-in flag parsing', () => {
  it('accepts a complete flag set in check mode without reading any file', async () => {
    const result = await runToExit(startStandin('kube-apiserver', [...apiserverFlags, '--authorization-mode', 'Node,RBAC', '--v=2'], CHECK));
    expect(result).toMatchObject({ code: 0, stderr: '' });
  });

  it('rejects an unknown flag like pflag does', async () => {
    const result = await runToExit(startStandin('kube-apiserver', [...apiserverFlags, '--insecure-port=8080'], CHECK));
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('Error: unknown flag: --insecure-port\n');
    const removed = await runToExit(startStandin('kube-scheduler', ['--config=/x', '--logtostderr'], CHECK));
    expect(removed.stderr).toBe('Error: unknown flag: --logtostderr\n');
  });

  it('lists every missing required flag', async () => {
    const result = await runToExit(startStandin('kube-apiserver', apiserverFlags.filter((flag) => !flag.startsWith('--service-cluster-ip-range') && !flag.startsWith('--etcd-servers')), CHECK));
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('Error: [--etcd-servers must be specified, --service-cluster-ip-range must be specified]\n');
    const cm = await runToExit(startStandin('kube-controller-manager', ['--kubeconfig=/x'], CHECK));
    expect(cm.stderr).toContain('--cluster-signing-cert-file must be specified');
    expect(cm.stderr).toContain('--cluster-cidr must be specified');
  });

  it('rejects malformed values and positional arguments', async () => {
    const cidr = await runToExit(startStandin('kube-apiserver', [...apiserverFlags, '--service-cluster-ip-range=10.32.0.0/33'], CHECK));
    expect(cidr.stderr).toContain('invalid argument "10.32.0.0/33" for "--service-cluster-ip-range" flag');
    const bool = await runToExit(startStandin('kube-controller-manager', ['--leader-elect=maybe'], CHECK));
    expect(bool.stderr).toContain('invalid argument "maybe" for "--leader-elect" flag');
    const mode = await runToExit(startStandin('kube-apiserver', [...apiserverFlags, '--authorization-mode=Node,RBAC,Magic'], CHECK));
    expect(mode.stderr).toContain('authorization mode Magic is not a valid mode');
    const positional = await runToExit(startStandin('kube-scheduler', ['--config=/x', 'extra'], CHECK));
    expect(positional.code).toBe(1);
    expect(positional.stderr).toContain('does not take any arguments');
    const dangling = await runToExit(startStandin('kube-apiserver', ['--etcd-servers'], CHECK));
    expect(dangling.stderr).toBe('Error: flag needs an argument: --etcd-servers\n');
  });

  it('prints its version like the real binaries', async () => {
    for (const program of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const) {
      const result = await runToExit(startStandin(program, ['--version']));
      expect(result).toMatchObject({ code: 0, stdout: 'Kubernetes v1.32.3\n' });
    }
  });
});
