// `api-objects: { src }` (local): makes the API objects of a manifest in units/ exist as written
// (the RBAC Kubernetes the hard way applies with kubectl), through an API server with the admin
// identity. An object is created when missing and replaced only when a field it sets differs.
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { TaskError } from '../errors.ts';
import { kubeRequest } from '../health/api-checks.ts';
import { defineModule } from './module.ts';
import { withInput } from './described.ts';
import { renderTemplate } from './template.ts';

/** The kinds hardway writes, and where the API keeps them (cluster-scoped). */
const COLLECTIONS: Record<string, string> = {
  'rbac.authorization.k8s.io/v1 ClusterRole': '/apis/rbac.authorization.k8s.io/v1/clusterroles',
  'rbac.authorization.k8s.io/v1 ClusterRoleBinding': '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
};

/** The fields compared with what the cluster holds; the API server fills in the rest. */
const COMPARED = ['rules', 'roleRef', 'subjects'] as const;

interface WantedObject {
  kind: string;
  name: string;
  path: string;
  collection: string;
  object: Record<string, any>;
}

/** Why: a manifest that names an unknown kind or no name fails before anything is sent. */
export function parseManifest(text: string, source: string): WantedObject[] {
  return parseAllDocuments(text)
    .map((document) => document.toJS() as Record<string, any> | null)
    .filter((object): object is Record<string, any> => object !== null)
    .map((object) => {
      const collection = COLLECTIONS[`${object.apiVersion} ${object.kind}`];
      const name = object.metadata?.name;
      if (!collection) throw new TaskError(`${source}: ${object.apiVersion} ${object.kind} is not a kind hardway writes (${Object.keys(COLLECTIONS).join(', ')})`, {});
      if (typeof name !== 'string' || !name) throw new TaskError(`${source}: a ${object.kind} without metadata.name`, {});
      return { kind: object.kind, name, collection, path: `${collection}/${encodeURIComponent(name)}`, object };
    });
}

/** What differs between the wanted object and the one read: field names, for the reason. */
export function differingFields(wanted: Record<string, any>, current: Record<string, any>): string[] {
  const fields: string[] = COMPARED.filter((field) => field in wanted && !isDeepStrictEqual(normalize(wanted[field]), normalize(current[field])));
  for (const key of ['labels', 'annotations'] as const) {
    for (const [name, value] of Object.entries((wanted.metadata?.[key] ?? {}) as Record<string, string>)) {
      if (current.metadata?.[key]?.[name] !== value) fields.push(`metadata.${key}.${name}`);
    }
  }
  return fields;
}

/** The API server drops empty lists and defaults nothing else here; compare as JSON would. */
function normalize(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value ?? null));
}

const args = z.strictObject({
  /** A manifest in units/ (or the spec's unitsDir). */
  src: z.string().regex(/^[a-z0-9][-a-z0-9.]*\.yaml$/, { message: 'must be a manifest file name like apiserver-to-kubelet.yaml' }),
});

/** Why: kubelet authorization needs RBAC objects that only the API can hold, kept as written. */
export const apiObjectsModule = defineModule({
  name: 'api-objects',
  where: 'local',
  summary: 'Create or update API objects (RBAC) from a manifest, with the admin identity',
  args,
  async check(ctx, { src }) {
    const wanted = parseManifest(renderTemplate(ctx, { src }).toString('utf8'), `units/${src}`);
    const health = { run: ctx.run, signal: ctx.signal };
    const changes: string[] = [];
    for (const item of wanted) {
      let answer;
      try {
        answer = await kubeRequest(health, item.path);
      } catch (error) {
        // A dry run before the control plane exists (no certificates, no machines) plans them all.
        if (!ctx.run.options.dryRun) throw error;
        return { changed: true, reason: `create ${wanted.map((entry) => `${entry.kind} ${entry.name}`).join(', ')} (the API cannot be asked yet: ${(error as Error).message.split('\n')[0]})` };
      }
      const { status, object } = answer;
      if (status === 404) changes.push(`create ${item.kind} ${item.name}`);
      else if (status !== 200) throw new TaskError(`reading ${item.kind} ${item.name} answered HTTP ${status}: ${object.message ?? ''}`.trim(), { step: ctx.step, task: ctx.task });
      else {
        const fields = differingFields(item.object, object);
        if (fields.length) changes.push(`update ${item.kind} ${item.name} (${fields.join(', ')})`);
      }
    }
    return changes.length ? { changed: true, reason: changes.join('; ') } : { changed: false, reason: `${wanted.map((item) => `${item.kind} ${item.name}`).join(', ')} as written` };
  },
  async apply(ctx, { src }) {
    const wanted = parseManifest(renderTemplate(ctx, { src }).toString('utf8'), `units/${src}`);
    const health = { run: ctx.run, signal: ctx.signal };
    const done: string[] = [];
    for (const item of wanted) {
      const current = await kubeRequest(health, item.path);
      let result;
      if (current.status === 404) result = await kubeRequest(health, item.collection, { method: 'POST', json: item.object });
      else if (differingFields(item.object, current.object).length) {
        const replacement = { ...item.object, metadata: { ...item.object.metadata, resourceVersion: current.object.metadata?.resourceVersion } };
        result = await kubeRequest(health, item.path, { method: 'PUT', json: replacement });
      } else continue;
      if (result.status >= 300) throw new TaskError(`writing ${item.kind} ${item.name} answered HTTP ${result.status}: ${result.object.message ?? ''}`.trim(), { step: ctx.step, task: ctx.task });
      done.push(`${current.status === 404 ? 'created' : 'updated'} ${item.kind} ${item.name}`);
    }
    return { changed: done.length > 0, reason: done.join('; ') || 'nothing to write' };
  },
  describe(ctx, { src }) {
    return [withInput('kubectl --kubeconfig kubeconfigs/admin.kubeconfig apply -f -', renderTemplate(ctx, { src }).toString('utf8'))];
  },
});
