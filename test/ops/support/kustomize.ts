import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

/**
 * The subset of kustomize that deploy/k8s uses, rendered without kustomize: `resources`
 * (files and directories with their own kustomization), `namespace`, `images`, `replicas`,
 * and `patches` with JSON 6902 operations (inline or from a file) and a kind/name target.
 * Anything else in a kustomization is refused, so the manifests cannot drift into features
 * this renderer (and the tests on its output) would silently ignore. Where a kustomize
 * binary is at hand (`kubectl kustomize`), test/ops compares the two renderings.
 */
export type Resource = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
};

const SUPPORTED = new Set([
  'apiVersion',
  'kind',
  'resources',
  'namespace',
  'images',
  'replicas',
  'patches',
]);

const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
  'IngressClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
]);

interface Kustomization {
  resources?: string[];
  namespace?: string;
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
  replicas?: { name: string; count: number }[];
  patches?: {
    path?: string;
    patch?: string;
    target?: { kind?: string; name?: string; group?: string; version?: string };
  }[];
}

/** Every YAML document of a file (empty ones dropped), as plain objects. */
export function readYamlDocuments(file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
  }
  return docs.map((doc) => doc.toJS() as unknown).filter((doc) => doc !== null);
}

export function kustomizationFile(dir: string): string {
  for (const name of ['kustomization.yaml', 'kustomization.yml', 'Kustomization']) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(`no kustomization in ${dir}`);
}

/** The resources `dir`'s kustomization renders to, in the order they are listed. */
export function renderKustomization(dir: string): Resource[] {
  const file = kustomizationFile(dir);
  const k = parse(readFileSync(file, 'utf8')) as Kustomization & Record<string, unknown>;
  const unsupported = Object.keys(k).filter((key) => !SUPPORTED.has(key));
  if (unsupported.length > 0)
    throw new Error(`${file}: unsupported fields ${unsupported.join(',')}`);
  let resources: Resource[] = [];
  for (const entry of k.resources ?? []) {
    const path = resolve(dir, entry);
    if (statSync(path).isDirectory()) resources.push(...renderKustomization(path));
    else resources.push(...(readYamlDocuments(path) as Resource[]));
  }
  for (const patch of k.patches ?? []) {
    const text = patch.path ? readFileSync(resolve(dir, patch.path), 'utf8') : (patch.patch ?? '');
    const operations = parse(text) as unknown;
    if (!Array.isArray(operations)) {
      throw new Error(`${file}: only JSON 6902 patches are supported (${patch.path ?? 'inline'})`);
    }
    const targets = resources.filter((r) => matches(r, patch.target ?? {}));
    if (targets.length === 0) throw new Error(`${file}: patch target matches nothing`);
    resources = resources.map((r) =>
      targets.includes(r) ? applyJsonPatch(r, operations as JsonPatchOperation[]) : r,
    );
  }
  if (k.namespace !== undefined) {
    for (const r of resources) {
      if (!CLUSTER_SCOPED.has(r.kind)) r.metadata.namespace = k.namespace;
    }
  }
  for (const image of k.images ?? []) {
    for (const container of podContainers(resources)) {
      const ref = parseImage(String(container.image));
      if (ref.name !== image.name) continue;
      const name = image.newName ?? ref.name;
      if (image.digest) container.image = `${name}@${image.digest}`;
      else if (image.newTag) container.image = `${name}:${image.newTag}`;
      else
        container.image = `${name}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
    }
  }
  for (const { name, count } of k.replicas ?? []) {
    const found = resources.filter(
      (r) =>
        ['Deployment', 'StatefulSet', 'ReplicaSet', 'ReplicationController'].includes(r.kind) &&
        r.metadata.name === name,
    );
    if (found.length === 0) throw new Error(`${file}: replicas: no workload named ${name}`);
    for (const r of found) (r.spec as Record<string, unknown>).replicas = count;
  }
  return resources;
}

function matches(r: Resource, target: { kind?: string; name?: string; group?: string }): boolean {
  if (target.kind !== undefined && r.kind !== target.kind) return false;
  if (target.name !== undefined && r.metadata.name !== target.name) return false;
  if (target.group !== undefined) {
    const group = r.apiVersion.includes('/') ? r.apiVersion.split('/')[0] : '';
    if (group !== target.group) return false;
  }
  return true;
}

export interface Container {
  name: string;
  image?: string;
  [key: string]: unknown;
}

/** The containers (and init containers) of every pod template. */
export function podContainers(resources: Resource[]): Container[] {
  return resources.flatMap((r) => {
    const pod = podSpec(r);
    return pod ? [...(pod.initContainers ?? []), ...pod.containers] : [];
  });
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  [key: string]: unknown;
}

/** The pod template's spec of a workload, or undefined. */
export function podSpec(r: Resource): PodSpec | undefined {
  const spec = r.spec as { template?: { spec?: PodSpec } } | undefined;
  return spec?.template?.spec;
}

function parseImage(image: string): { name: string; tag?: string; digest?: string } {
  const [withoutDigest, digest] = image.split('@') as [string, string | undefined];
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  if (colon > slash) {
    return { name: withoutDigest.slice(0, colon), tag: withoutDigest.slice(colon + 1), digest };
  }
  return { name: withoutDigest, digest };
}

export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'test';
  path: string;
  value?: unknown;
}

/** RFC 6902 add, remove, replace and test, on a copy. */
export function applyJsonPatch<T>(document: T, operations: JsonPatchOperation[]): T {
  const copy = structuredClone(document) as unknown;
  for (const operation of operations) {
    const tokens = operation.path
      .split('/')
      .slice(1)
      .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = tokens.pop();
    if (last === undefined) throw new Error(`bad JSON patch path ${operation.path}`);
    let parent = copy as Record<string, unknown> | unknown[];
    for (const token of tokens) {
      const next = (parent as Record<string, unknown>)[token];
      if (typeof next !== 'object' || next === null) {
        throw new Error(`JSON patch path ${operation.path} does not exist`);
      }
      parent = next as Record<string, unknown>;
    }
    const record = parent as Record<string, unknown>;
    const exists = Array.isArray(parent)
      ? last === '-' || Number(last) < parent.length
      : Object.prototype.hasOwnProperty.call(parent, last);
    if (operation.op !== 'add' && !exists) {
      throw new Error(`JSON patch ${operation.op} ${operation.path}: no such member`);
    }
    if (operation.op === 'test') {
      if (JSON.stringify(record[last]) !== JSON.stringify(operation.value)) {
        throw new Error(`JSON patch test ${operation.path} failed`);
      }
    } else if (operation.op === 'remove') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete record[last];
    } else if (Array.isArray(parent) && operation.op === 'add') {
      parent.splice(last === '-' ? parent.length : Number(last), 0, operation.value);
    } else {
      record[last] = operation.value;
    }
  }
  return copy as T;
}

/** `kubectl kustomize DIR` (kustomize built into kubectl), when kubectl is installed. */
export function kubectlKustomize(dir: string): Resource[] | undefined {
  let out: string;
  try {
    out = execFileSync('kubectl', ['kustomize', dir], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Resource | null)
    .filter((d): d is Resource => d !== null);
}

export const resourceKey = (r: Resource): string =>
  `${r.kind}/${r.metadata.namespace ?? ''}/${r.metadata.name}`;
