// Picks the provider for the spec. Each is imported on demand, so the AWS SDK loads only for aws.
import { PrerequisiteError } from '../errors.ts';
import type { ClusterSpec } from '../spec/schema.ts';
import type { Provider } from './provider.ts';

/** Why: commands ask for "the cluster's provider" without knowing which one it is. */
export async function createProvider(spec: ClusterSpec): Promise<Provider> {
  throw new PrerequisiteError(`the ${spec.provider} provider is not available in this build`);
}
