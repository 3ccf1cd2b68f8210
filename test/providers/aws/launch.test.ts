import { describe, expect, it } from 'vitest';
import { newestImage } from '../../../src/providers/aws/ami.ts';
import { instanceTypeFor, runInstancesInput, sourceDestCheckFor } from '../../../src/providers/aws/launch.ts';
import { deriveInventory } from '../../../src/inventory/derive.ts';
import { awsSpec } from './spec.ts';

const image = { imageId: 'ami-0abc', name: 'debian-12-amd64-20250601-2100', rootDeviceName: '/dev/xvda' };

describe('RunInstances input', () => {
  const spec = awsSpec({ nodes: { controllers: { count: 1, instanceType: 'm7i.large' }, etcd: { count: 1 } }, aws: { region: 'eu-west-1', adminCidrs: ['203.0.113.0/24'], rootVolumeGiB: 42 } });
  const [controller, etcd] = deriveInventory(spec).nodes;

  it('asks for the fixed private IP, IMDSv2, an encrypted gp3 root volume and the tags', () => {
    const input = runInstancesInput({ spec, node: controller!, image, subnetId: 'subnet-1', securityGroupId: 'sg-1', keyName: 'hardway-unit' });
    expect(input).toMatchObject({
      ImageId: 'ami-0abc',
      InstanceType: 'm7i.large',
      KeyName: 'hardway-unit',
      MinCount: 1,
      MaxCount: 1,
      MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
      NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: 'subnet-1', PrivateIpAddress: '10.240.0.10', Groups: ['sg-1'], AssociatePublicIpAddress: true, DeleteOnTermination: true }],
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 42, VolumeType: 'gp3', Encrypted: true, DeleteOnTermination: true } }],
    });
    const tags = Object.fromEntries(input.TagSpecifications![0]!.Tags!.map((tag) => [tag.Key, tag.Value]));
    expect(tags).toEqual({ Name: 'unit-controller-0', 'hardway:cluster': 'unit', 'hardway:resource': 'instance', 'hardway:node': 'controller-0', 'hardway:role': 'controller' });
    expect(input.TagSpecifications!.map((specification) => specification.ResourceType)).toEqual(['instance', 'volume', 'network-interface']);
    // root login needs cloud-init's disable_root: false on Debian's images.
    expect(Buffer.from(input.UserData ?? '', 'base64').toString()).toContain('disable_root: false');
  });

  it('sends no user data when the spec logs in as the image user', () => {
    const admin = awsSpec({ ssh: { user: 'admin' } });
    expect(runInstancesInput({ spec: admin, node: deriveInventory(admin).nodes[0]!, image, subnetId: 's', securityGroupId: 'g', keyName: 'k' }).UserData).toBeUndefined();
  });

  it('takes the instance type from the node group, else a default for role and architecture', () => {
    expect(instanceTypeFor(spec, controller!)).toBe('m7i.large');
    expect(instanceTypeFor(spec, etcd!)).toBe('t3.small');
    const arm = awsSpec({ aws: { region: 'eu-west-1', adminCidrs: ['203.0.113.0/24'], architecture: 'arm64' } });
    expect(deriveInventory(arm).nodes.map((node) => instanceTypeFor(arm, node))).toEqual(['t4g.medium', 't4g.medium', 't4g.small']);
  });

  it("gives workers their group's type or a 4 GiB default, and turns the source/dest check off on workers only", () => {
    const workers = awsSpec({ nodes: { controllers: { count: 1 }, etcd: { count: 1 }, workers: { count: 2 } } });
    const nodes = deriveInventory(workers).nodes;
    expect(nodes.map((node) => `${node.name} ${instanceTypeFor(workers, node)} ${sourceDestCheckFor(node)}`)).toEqual([
      'controller-0 t3.medium true',
      'etcd-0 t3.small true',
      'worker-0 t3.medium false',
      'worker-1 t3.medium false',
    ]);
    const large = awsSpec({ nodes: { controllers: { count: 1 }, etcd: { count: 1 }, workers: { count: 1, instanceType: 'm7i.xlarge' } } });
    const worker = deriveInventory(large).nodes.find((node) => node.name === 'worker-0')!;
    expect(instanceTypeFor(large, worker)).toBe('m7i.xlarge');
    const tags = runInstancesInput({ spec: large, node: worker, image, subnetId: 's', securityGroupId: 'g', keyName: 'k' }).TagSpecifications![0]!.Tags!;
    expect(tags).toContainEqual({ Key: 'hardway:role', Value: 'worker' });
  });
});

describe('image choice', () => {
  it('picks the newest image by creation date, whatever order AWS lists them in', () => {
    const images = [
      { ImageId: 'ami-old', CreationDate: '2024-01-01T00:00:00.000Z' },
      { ImageId: 'ami-new', CreationDate: '2025-06-01T21:00:00.000Z' },
      { ImageId: 'ami-mid', CreationDate: '2025-01-01T00:00:00.000Z' },
    ];
    expect(newestImage(images)?.ImageId).toBe('ami-new');
    expect(newestImage([])).toBeUndefined();
  });
});
