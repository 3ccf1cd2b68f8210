// A kubeconfig with the CA, client certificate and key embedded (base64), as
// `kubectl config set-cluster/set-credentials --embed-certs` writes it, so the file stands alone.
import { stringify } from 'yaml';
import { FileError } from '../errors.ts';
import { keyMatches, readCertificate, signedBy, type CertificateInfo } from './certificate-info.ts';
import { readPrivateKey } from './keys.ts';

export const KUBECONFIG_DIR = 'kubeconfigs';

/** kubeconfigs/<name>.kubeconfig, relative to the cluster directory. */
export function kubeconfigFile(name: string): string {
  return `${KUBECONFIG_DIR}/${name}.kubeconfig`;
}

export interface KubeconfigInput {
  cluster: string;
  /** `https://HOST:PORT` */
  server: string;
  user: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** Why: the same input always gives the same bytes, so a re-run can tell "unchanged" by comparing. */
export function renderKubeconfig(input: KubeconfigInput): string {
  const base64 = (text: string) => Buffer.from(text).toString('base64');
  return stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: input.cluster, cluster: { 'certificate-authority-data': base64(input.caPem), server: input.server } }],
      users: [{ name: input.user, user: { 'client-certificate-data': base64(input.certPem), 'client-key-data': base64(input.keyPem) } }],
      contexts: [{ name: 'default', context: { cluster: input.cluster, user: input.user } }],
      'current-context': 'default',
      preferences: {},
    },
    { lineWidth: 0 },
  );
}

/** The kubectl commands that make the same file (Kubernetes the Hard Way, chapter 5). */
export function describeKubeconfig(file: string, input: Omit<KubeconfigInput, 'caPem' | 'certPem' | 'keyPem'> & { caFile: string; certFile: string; keyFile: string }): string[] {
  return [
    `mkdir -p -m 700 ${KUBECONFIG_DIR}`,
    `kubectl config set-cluster ${input.cluster} --certificate-authority=${input.caFile} --embed-certs=true --server=${input.server} --kubeconfig=${file}`,
    `kubectl config set-credentials ${input.user} --client-certificate=${input.certFile} --client-key=${input.keyFile} --embed-certs=true --kubeconfig=${file}`,
    `kubectl config set-context default --cluster=${input.cluster} --user=${input.user} --kubeconfig=${file}`,
    `kubectl config use-context default --kubeconfig=${file}`,
    `chmod 600 ${file}`,
  ];
}

/** The three files a kubeconfig embeds, as read from the cluster directory (paths for errors). */
export interface KubeconfigSources {
  ca: { file: string; pem: string };
  cert: { file: string; pem: string };
  key: { file: string; pem: string };
}

/**
 * Why: a corrupt or mismatched file must never end up embedded in a kubeconfig (kubectl would
 * fail far from the cause): each PEM parses, the key is the certificate's, the CA signed it.
 */
export function checkKubeconfigSources(sources: KubeconfigSources, hint: string): void {
  const certificate = ({ file, pem }: { file: string; pem: string }): CertificateInfo => {
    try {
      return readCertificate(pem);
    } catch (error) {
      throw new FileError(`${file} is not a readable PEM certificate (${(error as Error).message.split('\n')[0]})`, file, { hint, cause: error });
    }
  };
  const ca = certificate(sources.ca);
  const cert = certificate(sources.cert);
  let privateKey;
  try {
    privateKey = readPrivateKey(sources.key.pem);
  } catch (error) {
    throw new FileError(`${sources.key.file} is not a readable PEM private key`, sources.key.file, { hint, cause: error });
  }
  if (!keyMatches(cert, privateKey)) throw new FileError(`${sources.key.file} is not the key of ${sources.cert.file}`, sources.key.file, { hint });
  if (!signedBy(cert, ca)) throw new FileError(`${sources.cert.file} was not signed by ${sources.ca.file}`, sources.cert.file, { hint });
}
