// Every AWS resource hardway makes carries `hardway:cluster=NAME` plus what it is, so a re-run
// finds it instead of making another, and destroy finds everything even without the state file.
import type { Filter, ResourceType, Tag, TagSpecification } from '@aws-sdk/client-ec2';

export const TAG_CLUSTER = 'hardway:cluster';
/** What the resource is for this cluster: vpc, subnet, sg-nodes, instance... */
export const TAG_RESOURCE = 'hardway:resource';
export const TAG_NODE = 'hardway:node';
export const TAG_ROLE = 'hardway:role';
/** sha256 of the imported public key, to notice a key pair that holds another key. */
export const TAG_KEY_SHA = 'hardway:public-key-sha256';

/** The kinds of EC2 resources hardway creates, as written in TAG_RESOURCE. */
export type ResourceKind = 'vpc' | 'subnet' | 'internet-gateway' | 'route-table' | 'sg-nodes' | 'sg-lb' | 'key-pair' | 'instance';

/** Why: one place names resources, so the console shows `hardway-demo-vpc` and not ids only. */
export function resourceName(cluster: string, suffix: string): string {
  return `hardway-${cluster}-${suffix}`;
}

/** The tags of one resource: Name, cluster, kind, and any extra ones (node, role). */
export function resourceTags(cluster: string, kind: ResourceKind, name: string, extra: Record<string, string> = {}): Tag[] {
  const tags: Record<string, string> = { Name: name, [TAG_CLUSTER]: cluster, [TAG_RESOURCE]: kind, ...extra };
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

/** Tags applied at creation, so a crash between create and tag can never leave an untagged resource. */
export function tagSpecifications(types: ResourceType[], tags: Tag[]): TagSpecification[] {
  return types.map((ResourceType) => ({ ResourceType, Tags: tags }));
}

/** Describe* filters that select this cluster's resources of one kind (or all kinds). */
export function clusterFilters(cluster: string, kind?: ResourceKind, extra: Record<string, string> = {}): Filter[] {
  const filters: Filter[] = [{ Name: `tag:${TAG_CLUSTER}`, Values: [cluster] }];
  if (kind) filters.push({ Name: `tag:${TAG_RESOURCE}`, Values: [kind] });
  for (const [key, value] of Object.entries(extra)) filters.push({ Name: `tag:${key}`, Values: [value] });
  return filters;
}

/** The value of one tag, from EC2's or ELBv2's tag lists. */
export function tagValue(tags: readonly { Key?: string; Value?: string }[] | undefined, key: string): string | undefined {
  return tags?.find((tag) => tag.Key === key)?.Value;
}
