// Host keys are pinned (DESIGN §9): the first key a host offers is written to known_hosts; later a
// different one is refused with both fingerprints and the command that forgets the old key.
import type { Algorithms, ServerHostKeyAlgorithm } from 'ssh2';
import { HostKeyMismatchError, TransportError } from './errors.ts';
import { fingerprint, forgetCommand, hostKeyFromWire, type HostKey, type KnownHosts } from './known-hosts.ts';
import type { SessionTarget } from './session-types.ts';

const HOST_KEY_ALGORITHMS: Record<string, ServerHostKeyAlgorithm[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
};

/** Why: when a key is pinned, negotiate its algorithm, so another key type is never mistaken for a change. */
export function hostKeyAlgorithms(known: HostKey[]): Algorithms | undefined {
  const algorithms = [...new Set(known.flatMap((key) => HOST_KEY_ALGORITHMS[key.type] ?? []))];
  return algorithms.length ? { serverHostKey: algorithms } : undefined;
}

/** Why: ssh2 accepts any host key unless told otherwise (PITFALLS); this is the telling. */
export function pinnedHostVerifier(knownHosts: KnownHosts, target: SessionTarget, onRefused: (error: Error) => void): (blob: Buffer, verify: (valid: boolean) => void) => void {
  return (blob: Buffer, verify: (valid: boolean) => void): void => {
    const offered = hostKeyFromWire(blob);
    knownHosts.verifyOrPin(target.host, target.port, offered).then(
      (verdict) => {
        if (verdict.status === 'match' || verdict.status === 'pinned') return verify(true);
        onRefused(
          verdict.status === 'mismatch'
            ? new HostKeyMismatchError({
                node: target.node,
                host: target.host,
                port: target.port,
                knownFingerprints: verdict.known.map(fingerprint),
                offeredFingerprint: fingerprint(offered),
                forgetCommand: forgetCommand(knownHosts.path, target.host, target.port),
                knownHostsPath: knownHosts.path,
              })
            : new TransportError(`the host key ${fingerprint(offered)} of ${target.node} (${target.host}:${target.port}) is marked @revoked in ${knownHosts.path}`, { node: target.node }),
        );
        verify(false);
      },
      (error: unknown) => {
        onRefused(new TransportError(`cannot read or write ${knownHosts.path}: ${(error as Error).message}`, { node: target.node, cause: error }));
        verify(false);
      },
    );
  };
}
