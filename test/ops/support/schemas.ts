import type { Resource } from './kustomize.js';

/**
 * Validates a Kubernetes object against the JSON schema of its apiVersion and kind, as
 * published in Kubernetes' OpenAPI document (kubernetes-models) or the Prometheus Operator's
 * CRDs (@kubernetes-models/prometheus-operator). Throws with the schema's complaint; an
 * apiVersion/kind with no schema is an error too.
 */
export async function validateResource(resource: Resource): Promise<void> {
  const [group, version] = resource.apiVersion.includes('/')
    ? (resource.apiVersion.split('/') as [string, string])
    : ['', resource.apiVersion];
  const module =
    group === 'monitoring.coreos.com'
      ? `@kubernetes-models/prometheus-operator/${group}/${version}/${resource.kind}`
      : `kubernetes-models/${group === '' ? '' : `${group}/`}${version}/${resource.kind}`;
  let exports: Record<string, unknown>;
  try {
    exports = (await import(module)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(
      `no schema for ${resource.apiVersion} ${resource.kind} (${module}): ${String(err)}`,
    );
  }
  const Model = exports[resource.kind] as (new (data: unknown) => { validate(): void }) | undefined;
  if (Model === undefined) throw new Error(`${module} exports no ${resource.kind}`);
  try {
    new Model(resource).validate();
  } catch (err) {
    throw new Error(
      `${resource.kind} ${resource.metadata.name}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}
