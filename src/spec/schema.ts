// The cluster.yaml schema. Field-level rules live here; rules that relate fields to each other
// (CIDR overlap, addresses inside the subnet, per-provider requirements) live in consistency.ts.
import { isIPv4 } from 'node:net';
import { z } from 'zod';
import { durationMs, expiryProblem, MAX_EXPIRY_MS } from '../pki/duration.ts';
import {
  awsAvailabilityZone,
  awsInstanceType,
  awsRegion,
  clusterDomain,
  countryCode,
  debianSuite,
  dnsName,
  hostAddress,
  httpUrl,
  localPath,
  sanName,
  subjectText,
  userName,
} from './safe-strings.ts';

/** More nodes per role than this is not a cluster hardway can bring up over SSH from one workstation. */
export const MAX_NODES_PER_ROLE = 100;

const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const ipv4 = z.string().refine((value) => isIPv4(value), { message: 'must be an IPv4 address like 10.240.0.10' });

export const cidr = z.string().refine(
  (value) => {
    const [address, bits, ...rest] = value.split('/');
    if (rest.length || address === undefined || bits === undefined || !isIPv4(address)) return false;
    return /^\d{1,2}$/.test(bits) && Number(bits) <= 32;
  },
  { message: 'must be an IPv4 CIDR like 10.240.0.0/24' },
);

/** Go-style durations as cfssl writes them: "8760h", "30m", "90s". */
export const duration = z.string().max(64).regex(/^(\d+(\.\d+)?(h|m|s|ms))+$/, { message: 'must be a duration like "8760h" or "90s"' });

/** A certificate lifetime: at least 1h, at most 100 years (876000h). */
const certExpiry = duration.superRefine((value, ctx) => {
  const ms = durationMs(value);
  const problem = ms === undefined ? 'is not a duration' : expiryProblem(ms);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** A window before expiry: 0 (never early) up to 100 years. */
const renewWindow = duration.refine((value) => (durationMs(value) ?? Infinity) <= MAX_EXPIRY_MS, { message: 'is too long: at most 876000h (100 years)' });

const dnsLabel = z.string().max(63).regex(DNS_1123_LABEL, {
  message: 'must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit',
});

const staticHost = z.strictObject({
  /** The node's name; defaults to `<role>-<index>`. */
  name: dnsLabel.optional(),
  /** Where SSH connects (an IP or DNS name). */
  address: hostAddress,
  /** The address other nodes use; defaults to `address`. */
  ip: ipv4.optional(),
  port: z.number().int().min(1).max(65535).optional(),
  user: userName.optional(),
});

const roleGroup = z.strictObject({
  /** lab and aws: how many nodes. */
  count: z.number().int().min(0).max(MAX_NODES_PER_ROLE, { message: `must be at most ${MAX_NODES_PER_ROLE} (hardway builds small control planes)` }).optional(),
  /** lab and aws: fixed internal IPs in order; by default taken from `network.nodeSubnet`. */
  ips: z.array(ipv4).max(MAX_NODES_PER_ROLE, { message: `must list at most ${MAX_NODES_PER_ROLE} addresses` }).optional(),
  /** static: the machines. */
  hosts: z.array(staticHost).max(MAX_NODES_PER_ROLE, { message: `must list at most ${MAX_NODES_PER_ROLE} hosts` }).optional(),
  /** aws: the instance type for this role. */
  instanceType: awsInstanceType.optional(),
});

const bastion = z.strictObject({
  host: hostAddress,
  port: z.number().int().min(1).max(65535).default(22),
  user: userName.default('root'),
});

const subjectNames = z.strictObject({
  C: countryCode.optional(),
  L: subjectText.optional(),
  O: subjectText.optional(),
  OU: subjectText.optional(),
  ST: subjectText.optional(),
});

export const clusterSpecSchema = z.strictObject({
  /** The cluster's name: tags, lab bridge and namespaces derive from it. */
  name: dnsLabel.refine((value) => value.length <= 20, { message: 'must be at most 20 characters (lab interface names derive from it)' }),
  provider: z.enum(['lab', 'aws', 'static']),
  topology: z.enum(['external', 'stacked']).default('external'),
  versions: z
    .strictObject({
      kubernetes: z.string().regex(/^\d+\.\d+\.\d+$/, { message: 'must be a version like 1.32.3' }).default('1.32.3'),
      etcd: z.string().regex(/^\d+\.\d+\.\d+$/, { message: 'must be a version like 3.5.16' }).default('3.5.16'),
      /** Workers off the lab (whose image has Debian's): upstream release archives of these versions. */
      containerd: z.string().regex(/^\d+\.\d+\.\d+$/, { message: 'must be a version like 1.7.24' }).default('1.7.24'),
      runc: z.string().regex(/^\d+\.\d+\.\d+$/, { message: 'must be a version like 1.2.3' }).default('1.2.3'),
      cniPlugins: z.string().regex(/^\d+\.\d+\.\d+$/, { message: 'must be a version like 1.6.1' }).default('1.6.1'),
    })
    .prefault({}),
  network: z
    .strictObject({
      nodeSubnet: cidr.default('10.240.0.0/24'),
      serviceCIDR: cidr.default('10.32.0.0/24'),
      clusterCIDR: cidr.default('10.200.0.0/16'),
      clusterDomain: clusterDomain.default('cluster.local'),
    })
    .prefault({}),
  nodes: z
    .strictObject({
      controllers: roleGroup.prefault({ count: 1 }),
      etcd: roleGroup.optional(),
      /** Nodes that run pods (kubelet, kube-proxy, containerd); none by default. */
      workers: roleGroup.optional(),
    })
    .prefault({}),
  loadBalancer: z
    .strictObject({
      /** haproxy on a node `lb-0` (lab, static), an AWS NLB (aws), or none. Default: nlb on aws, haproxy elsewhere. */
      type: z.enum(['haproxy', 'nlb', 'none']).optional(),
      port: z.number().int().min(1).max(65535).default(6443),
      /** haproxy: the lb node's internal IP (lab default: .30 of the node subnet). */
      ip: ipv4.optional(),
      /** static haproxy: where SSH reaches the lb node. */
      address: hostAddress.optional(),
      /** A DNS name clients use for the endpoint; added to the apiserver certificate. */
      dnsName: dnsName.optional(),
    })
    .prefault({}),
  ssh: z
    .strictObject({
      user: userName.default('root'),
      /** Private key; relative paths are from the cluster directory. The lab generates it if missing. */
      keyPath: localPath.default('ssh/id_ed25519'),
      /** Use the ssh-agent at $SSH_AUTH_SOCK instead of (or before) the key file. */
      agent: z.boolean().default(false),
      port: z.number().int().min(1).max(65535).default(22),
      bastion: bastion.optional(),
    })
    .prefault({}),
  pki: z
    .strictObject({
      keySize: z.literal([2048, 3072, 4096], { message: 'must be 2048, 3072 or 4096' }).default(2048),
      caExpiry: certExpiry.default('87600h'),
      certExpiry: certExpiry.default('8760h'),
      /** Leaves expiring within this window are reissued. */
      renewBefore: renewWindow.default('720h'),
      /** Extra names or IPs for the kube-apiserver certificate. */
      extraSANs: z.array(sanName).max(100, { message: 'must list at most 100 names' }).default([]),
      names: subjectNames.default({ C: 'US', L: 'Portland', O: 'Kubernetes', OU: 'CA', ST: 'Oregon' }),
    })
    .prefault({}),
  /**
   * A directory of unit and config templates used instead of the package's units/ (a copy to edit);
   * relative paths are from the cluster directory. It must hold every template the playbooks name.
   */
  unitsDir: localPath.optional(),
  artifacts: z
    .strictObject({
      /** A local directory with the binaries and a SHA256SUMS file, instead of downloading. */
      dir: localPath.optional(),
      /** Where downloads are cached; relative paths are from the cluster directory. */
      cacheDir: localPath.optional(),
    })
    .prefault({}),
  lab: z
    .strictObject({
      /** Debian suite of the node image. */
      suite: debianSuite.default('bookworm'),
      /** Debian mirror; default: the first one in this machine's apt sources. */
      mirror: httpUrl.optional(),
      /** Where node images are cached. */
      cacheDir: localPath.default('/var/cache/hardway'),
    })
    .optional(),
  aws: z
    .strictObject({
      region: awsRegion.optional(),
      /** CIDRs allowed to reach SSH (22) and the API (6443). Required: there is no 0.0.0.0/0 default. */
      adminCidrs: z.array(cidr).min(1, { message: 'must list at least one CIDR allowed to reach SSH and the API' }).max(50, { message: 'must list at most 50 CIDRs (security group rules are limited)' }),
      vpcCIDR: cidr.default('10.240.0.0/16'),
      availabilityZone: awsAvailabilityZone.optional(),
      /** AMI id; default: the newest official Debian 12 image for the architecture. */
      ami: z.string().regex(/^ami-[0-9a-f]+$/, { message: 'must be an AMI id like ami-0123456789abcdef0' }).optional(),
      architecture: z.enum(['x86_64', 'arm64']).default('x86_64'),
      rootVolumeGiB: z.number().int().min(8).max(16384, { message: 'must be at most 16384 (the gp3 maximum)' }).default(20),
      /** Override the API endpoint (moto, LocalStack); AWS_ENDPOINT_URL works too. */
      endpoint: httpUrl.optional(),
    })
    .optional(),
});

/** The spec as written (before defaults). */
export type ClusterSpecInput = z.input<typeof clusterSpecSchema>;
/** The spec with every default filled in. */
export type ClusterSpec = z.output<typeof clusterSpecSchema>;
export type StaticHost = z.output<typeof staticHost>;
export type RoleGroup = z.output<typeof roleGroup>;

/** The load balancer type with the provider's default applied. */
export function loadBalancerType(spec: Pick<ClusterSpec, 'provider' | 'loadBalancer'>): 'haproxy' | 'nlb' | 'none' {
  return spec.loadBalancer.type ?? (spec.provider === 'aws' ? 'nlb' : 'haproxy');
}
