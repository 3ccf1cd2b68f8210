// What one node's RunInstances request asks for: its fixed private IP, a public address for SSH,
// IMDSv2 required, an encrypted gp3 root volume, and the cluster's tags on the instance, its
// volume and its network interface. Pure, so the request can be checked without AWS.
import type { RunInstancesCommandInput } from '@aws-sdk/client-ec2';
import type { Node } from '../../inventory/node.ts';
import type { ClusterSpec } from '../../spec/schema.ts';
import type { MachineImage } from './ami.ts';
import { resourceTags, tagSpecifications, TAG_NODE, TAG_ROLE } from './tags.ts';

// Workers get 4 GiB like controllers: kubelet, containerd and kube-proxy take about 180 MB before
// the first pod (shared/ENVIRONMENT.md), and 2 GiB leaves little room for pods.
const DEFAULT_TYPES = {
  x86_64: { controller: 't3.medium', etcd: 't3.small', worker: 't3.medium', lb: 't3.small' },
  arm64: { controller: 't4g.medium', etcd: 't4g.small', worker: 't4g.medium', lb: 't4g.small' },
} as const;

/** The spec's node group a node belongs to (`nodes.<group>`), for instance types and hints. */
export function nodeGroupOf(node: Node): 'controllers' | 'etcd' | 'workers' | undefined {
  if (node.roles.includes('controller')) return 'controllers';
  if (node.roles.includes('etcd')) return 'etcd';
  if (node.roles.includes('worker')) return 'workers';
  return undefined;
}

/** The spec's instance type for the node's group, or a default that fits the role. */
export function instanceTypeFor(spec: ClusterSpec, node: Node): string {
  const defaults = DEFAULT_TYPES[spec.aws?.architecture ?? 'x86_64'];
  const group = nodeGroupOf(node);
  if (group === 'controllers') return spec.nodes.controllers.instanceType ?? defaults.controller;
  if (group === 'etcd') return spec.nodes.etcd?.instanceType ?? defaults.etcd;
  if (group === 'workers') return spec.nodes.workers?.instanceType ?? defaults.worker;
  return defaults.lb;
}

/**
 * The source/destination check a node's instance must have. Only workers turn it off: they send
 * and receive packets from and to their pods' addresses, which are not the instance's own, and
 * EC2 drops such packets while the check is on. Every other node keeps it (least privilege).
 */
export function sourceDestCheckFor(node: Node): boolean {
  return !node.roles.includes('worker');
}

/** The instance's Name tag: the node's name, prefixed by the cluster's so the console stays readable. */
export function instanceName(cluster: string, node: Node): string {
  return `${cluster}-${node.name}`;
}

export function instanceTags(cluster: string, node: Node) {
  return resourceTags(cluster, 'instance', instanceName(cluster, node), { [TAG_NODE]: node.name, [TAG_ROLE]: node.roles.join(',') });
}

export interface LaunchTarget {
  spec: ClusterSpec;
  node: Node;
  image: MachineImage;
  subnetId: string;
  securityGroupId: string;
  keyName: string;
}

/** Why: every launch (ensure and rebuild) must produce the same machine for a node. */
export function runInstancesInput(target: LaunchTarget): RunInstancesCommandInput {
  const { spec, node, image } = target;
  const tags = instanceTags(spec.name, node);
  return {
    ImageId: image.imageId,
    InstanceType: instanceTypeFor(spec, node) as RunInstancesCommandInput['InstanceType'],
    MinCount: 1,
    MaxCount: 1,
    KeyName: target.keyName,
    NetworkInterfaces: [
      {
        DeviceIndex: 0,
        SubnetId: target.subnetId,
        PrivateIpAddress: node.internalIP,
        Groups: [target.securityGroupId],
        AssociatePublicIpAddress: true,
        DeleteOnTermination: true,
      },
    ],
    // IMDSv2 only: a server-side request forgery on a node cannot read its credentials with a plain GET.
    MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 },
    BlockDeviceMappings: [
      {
        DeviceName: image.rootDeviceName,
        Ebs: { VolumeSize: spec.aws?.rootVolumeGiB ?? 20, VolumeType: 'gp3', Encrypted: true, DeleteOnTermination: true },
      },
    ],
    TagSpecifications: tagSpecifications(['instance', 'volume', 'network-interface'], tags),
    ...(spec.ssh.user === 'root' ? { UserData: Buffer.from(ROOT_LOGIN_CLOUD_CONFIG).toString('base64') } : {}),
  };
}

/**
 * Debian's cloud images let only `admin` log in; with ssh.user root, cloud-init installs the key
 * for root too (key only: sshd's default PermitRootLogin prohibit-password stays).
 */
const ROOT_LOGIN_CLOUD_CONFIG = '#cloud-config\ndisable_root: false\n';
