// The machine image: aws.ami when given, else the newest Debian 12 image published by Debian's
// own AWS account for the chosen architecture, found with DescribeImages filters.
import { DescribeImagesCommand, type Image } from '@aws-sdk/client-ec2';
import { TaskError } from '../../errors.ts';
import { awsErrorCode } from './errors.ts';
import type { AwsRun } from './run.ts';

/** The AWS account Debian publishes its official cloud images from. */
export const DEBIAN_OWNER = '136693071363';

export interface MachineImage {
  imageId: string;
  name: string;
  /** Where the root volume attaches; the block device mapping must name it to resize/encrypt it. */
  rootDeviceName: string;
}

/** Debian's image names: debian-12-amd64-20240717-1811 (backports images have another prefix). */
export function debianNamePattern(architecture: 'x86_64' | 'arm64'): string {
  return `debian-12-${architecture === 'arm64' ? 'arm64' : 'amd64'}-*`;
}

/** Why: "newest" must be by CreationDate, not by the order AWS happens to list images in. */
export function newestImage(images: readonly Image[]): Image | undefined {
  return [...images].filter((image) => image.ImageId).sort((a, b) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''))[0];
}

export async function resolveImage(run: AwsRun): Promise<MachineImage> {
  const architecture = run.aws.architecture;
  let image: Image | undefined;
  if (run.aws.ami) {
    const out = await run.api.ec2(new DescribeImagesCommand({ ImageIds: [run.aws.ami] })).catch((error: unknown) => {
      if (!awsErrorCode(error)?.startsWith('InvalidAMIID')) throw error;
      throw new TaskError(`AMI ${run.aws.ami} cannot be used in this region`, { field: 'aws.ami' }, {
        hint: 'AMI ids differ per region: pick one of this region, or leave aws.ami out to use the newest Debian 12 image.',
        cause: error,
      });
    });
    image = out.Images?.[0];
    if (!image) throw new TaskError(`AMI ${run.aws.ami} does not exist in this region`, { field: 'aws.ami' }, { hint: 'Leave aws.ami out to use the newest Debian 12 image.' });
    if (image.Architecture && image.Architecture !== architecture) {
      throw new TaskError(`AMI ${run.aws.ami} is ${image.Architecture}, but aws.architecture is ${architecture}`, { field: 'aws.ami' }, {
        hint: `Set aws.architecture: ${image.Architecture}, or pick an ${architecture} image.`,
      });
    }
  } else {
    const out = await run.api.ec2(
      new DescribeImagesCommand({
        Owners: [DEBIAN_OWNER],
        Filters: [
          { Name: 'name', Values: [debianNamePattern(architecture)] },
          { Name: 'architecture', Values: [architecture] },
          { Name: 'state', Values: ['available'] },
          { Name: 'root-device-type', Values: ['ebs'] },
        ],
      }),
    );
    image = newestImage(out.Images ?? []);
    if (!image) {
      throw new TaskError(`no Debian 12 ${architecture} image from Debian's account ${DEBIAN_OWNER} in this region`, { field: 'aws.ami' }, {
        hint: 'Set aws.ami to an image id of this region (Debian 12 or Ubuntu 24.04).',
      });
    }
  }
  if (!image.ImageId) throw new TaskError('DescribeImages returned an image without an id', {});
  return { imageId: image.ImageId, name: image.Name ?? image.ImageId, rootDeviceName: image.RootDeviceName ?? '/dev/xvda' };
}
