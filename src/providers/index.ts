// Picks the provider for the spec. Each is imported on demand, so the AWS SDK loads only for aws.
import type { ClusterSpec } from '../spec/schema.ts';
import type { Provider } from './provider.ts';

/** Why: commands ask for "the cluster's provider" without knowing which one it is. */
export async function createProvider(spec: ClusterSpec): Promise<Provider> {
  switch (spec.provider) {
    case 'aws':
      return (await import('./aws/index.ts')).createAwsProvider();
    case 'lab':
      return (await import('./lab/index.ts')).createLabProvider();
    case 'static':
      return (await import('./static/index.ts')).createStaticProvider();
  }
}
