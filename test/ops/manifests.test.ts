import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, MQFT_VARIABLES, parseDuration } from '@mqft/config';
import { REPO_ROOT, SERVICE_RUNTIME_ENV } from '@mqft/test-support';
import {
  catalogueNames,
  HTTP_ADDR,
  SERVICE_SCHEMAS,
  SERVICES,
  variablesOf,
  type ServiceName,
} from '../../deploy/tools/config-table.js';
import { metricsCatalogue } from '../../deploy/tools/metrics-catalogue.js';
import {
  kubectlKustomize,
  podContainers,
  podSpec,
  readYamlDocuments,
  renderKustomization,
  resourceKey,
  type Container,
  type Resource,
} from './support/kustomize.js';
import { validateResource } from './support/schemas.js';

// The Kubernetes manifests, rendered as `kubectl kustomize` renders them, checked against
// Kubernetes' schemas and against the code: variable names, ports, probes, selectors,
// autoscaler targets, shutdown timing.

const BASE = join(REPO_ROOT, 'deploy/k8s/base');
const OVERLAY = join(REPO_ROOT, 'deploy/k8s/overlays/example');
const WORKLOADS = ['Deployment', 'StatefulSet'];
const SAMPLE_POD_NAME = 'mqft-ingest-0';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
  };
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Port {
  name?: string;
  containerPort: number;
}

const byKind = (rs: Resource[], kind: string) => rs.filter((r) => r.kind === kind);
const find = (rs: Resource[], kind: string, name: string) =>
  rs.find((r) => r.kind === kind && r.metadata.name === name);
const spec = (r: Resource) => r.spec as Record<string, unknown>;
const labelsMatch = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);
const templateLabels = (r: Resource) =>
  (spec(r).template as { metadata?: { labels?: Record<string, string> } }).metadata?.labels ?? {};

/** The service a workload runs: its component label, checked against the container args. */
function serviceOf(r: Resource): ServiceName {
  const component = templateLabels(r)['app.kubernetes.io/component'];
  expect(SERVICES, `${r.metadata.name}: component label`).toContain(component);
  return component as ServiceName;
}

function mainContainer(r: Resource): Container {
  const containers = podSpec(r)?.containers ?? [];
  expect(containers, `${r.metadata.name}: one container`).toHaveLength(1);
  return containers[0] as Container;
}

/** What the process sees: envFrom ConfigMaps and Secrets, then env (which wins). */
function containerEnvironment(resources: Resource[], container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of (container.envFrom ?? []) as {
    configMapRef?: { name: string };
    secretRef?: { name: string };
  }[]) {
    if (from.configMapRef) Object.assign(env, configMapData(resources, from.configMapRef.name));
    if (from.secretRef) Object.assign(env, secretData(resources, from.secretRef.name));
  }
  for (const variable of (container.env ?? []) as EnvVar[]) {
    const from = variable.valueFrom;
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (from?.fieldRef?.fieldPath === 'metadata.name') env[variable.name] = SAMPLE_POD_NAME;
    else if (from?.secretKeyRef) {
      const data = secretData(resources, from.secretKeyRef.name);
      expect(data, `secret key ${from.secretKeyRef.key}`).toHaveProperty(from.secretKeyRef.key);
      env[variable.name] = data[from.secretKeyRef.key] as string;
    } else if (from?.configMapKeyRef) {
      const data = configMapData(resources, from.configMapKeyRef.name);
      expect(data, `config key ${from.configMapKeyRef.key}`).toHaveProperty(
        from.configMapKeyRef.key,
      );
      env[variable.name] = data[from.configMapKeyRef.key] as string;
    } else
      throw new Error(`${container.name}: ${variable.name} has a source the test does not know`);
  }
  return env;
}

function configMapData(resources: Resource[], name: string): Record<string, string> {
  const cm = find(resources, 'ConfigMap', name);
  expect(cm, `ConfigMap ${name} exists`).toBeDefined();
  return ((cm as Resource).data ?? {}) as Record<string, string>;
}

function secretData(resources: Resource[], name: string): Record<string, string> {
  const secret = find(resources, 'Secret', name);
  expect(secret, `Secret ${name} exists`).toBeDefined();
  const data = ((secret as Resource).data ?? {}) as Record<string, string>;
  const decoded = Object.fromEntries(
    Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
  return { ...decoded, ...(((secret as Resource).stringData ?? {}) as Record<string, string>) };
}

function portOf(container: Container, name: string | number): number {
  if (typeof name === 'number') return name;
  const port = ((container.ports ?? []) as Port[]).find((p) => p.name === name);
  expect(port, `${container.name}: port named ${name}`).toBeDefined();
  return (port as Port).containerPort;
}

const defaultPort = (service: ServiceName, variable: string): number =>
  Number(variablesOf(service).get(variable)?.defaultText?.split(':').pop());

for (const [title, dir] of [
  ['base', BASE],
  ['overlay example', OVERLAY],
] as const) {
  describe(`deploy/k8s/${title === 'base' ? 'base' : 'overlays/example'}`, () => {
    const resources = renderKustomization(dir);
    const workloads = resources.filter((r) => WORKLOADS.includes(r.kind));
    const catalogue = catalogueNames();

    it('every document is valid against the Kubernetes (and Prometheus Operator) schemas', async () => {
      expect(resources.length).toBeGreaterThan(10);
      for (const resource of resources) await validateResource(resource);
      const keys = resources.map(resourceKey);
      expect(new Set(keys).size, 'no duplicate kind/namespace/name').toBe(keys.length);
    });

    it('renders as kustomize itself renders it (kubectl kustomize)', (ctx) => {
      const theirs = kubectlKustomize(dir);
      if (theirs === undefined) {
        ctx.skip(true, 'kubectl is not installed; only the built-in kustomize subset was used');
        return;
      }
      const ours = new Map(resources.map((r) => [resourceKey(r), r]));
      expect(theirs.map(resourceKey).sort()).toEqual([...ours.keys()].sort());
      for (const r of theirs) expect(ours.get(resourceKey(r)), resourceKey(r)).toEqual(r);
    });

    it('runs one workload per service, each the bundle of that service', () => {
      expect(workloads.map((w) => `${w.kind}/${serviceOf(w)}`).sort()).toEqual([
        'Deployment/assembler',
        'Deployment/control',
        'StatefulSet/ingest',
      ]);
      for (const w of workloads) {
        const service = serviceOf(w);
        const container = mainContainer(w);
        expect(container.args).toEqual([`dist/${service}.mjs`]);
        expect(existsSync(join(REPO_ROOT, `services/${service}/src/main.ts`))).toBe(true);
        expect(container.command, 'the image entrypoint runs node').toBeUndefined();
      }
    });

    it('uses only MQFT_* variables of the catalogue, each read by the service it is set on', () => {
      const configKeys = Object.keys(configMapData(resources, 'mqft-config'));
      const secretKeys = Object.keys(secretData(resources, 'mqft-secrets'));
      for (const key of [...configKeys, ...secretKeys].filter((k) => k.startsWith('MQFT_'))) {
        expect(catalogue, `${key} is in MQFT_VARIABLES`).toContain(key);
      }
      // Every shared variable is read by some service (or it would be dead configuration).
      for (const key of configKeys) {
        expect(
          SERVICES.some((s) => variablesOf(s).has(key)),
          `${key} is read by a service`,
        ).toBe(true);
      }
      for (const w of workloads) {
        const service = serviceOf(w);
        for (const variable of (mainContainer(w).env ?? []) as EnvVar[]) {
          if (!variable.name.startsWith('MQFT_')) continue;
          expect(catalogue, `${variable.name} is in MQFT_VARIABLES`).toContain(variable.name);
          expect(variablesOf(service).has(variable.name), `${service} reads ${variable.name}`).toBe(
            true,
          );
        }
      }
    });

    it('gives every service a configuration its own validation accepts', () => {
      for (const w of workloads) {
        const service = serviceOf(w);
        const env = containerEnvironment(resources, mainContainer(w));
        expect(() => loadConfig(SERVICE_SCHEMAS[service], env), service).not.toThrow();
      }
    });

    it('listens where the ports say, on the services’ default ports, all interfaces', () => {
      for (const w of workloads) {
        const service = serviceOf(w);
        const container = mainContainer(w);
        const env = containerEnvironment(resources, container);
        const config = loadConfig(SERVICE_SCHEMAS[service], env) as Record<string, unknown>;
        const http = config.httpAddr as { host: string; port: number };
        expect(http.host).toBe('0.0.0.0');
        expect(portOf(container, 'metrics')).toBe(http.port);
        expect(http.port).toBe(defaultPort(service, HTTP_ADDR));
        if (service === 'control') {
          const grpc = config.grpcAddr as { host: string; port: number };
          expect(grpc.host).toBe('0.0.0.0');
          expect(portOf(container, 'grpc')).toBe(grpc.port);
          expect(grpc.port).toBe(defaultPort('control', MQFT_VARIABLES.grpcAddr.name));
          const api = config.httpApiAddr as { host: string; port: number };
          expect(api.host).toBe('0.0.0.0');
          expect(portOf(container, 'http')).toBe(api.port);
          expect(api.port).toBe(defaultPort('control', MQFT_VARIABLES.httpApiAddr.name));
        }
      }
    });

    it('probes /healthz (startup, liveness) and /readyz (readiness) on the metrics port', () => {
      for (const w of workloads) {
        const container = mainContainer(w);
        const probes = {
          startup: container.startupProbe as Probe,
          liveness: container.livenessProbe as Probe,
          readiness: container.readinessProbe as Probe,
        };
        expect(probes.startup.httpGet?.path).toBe('/healthz');
        expect(probes.liveness.httpGet?.path).toBe('/healthz');
        expect(probes.readiness.httpGet?.path).toBe('/readyz');
        for (const probe of Object.values(probes)) {
          expect(portOf(container, probe.httpGet?.port ?? -1)).toBe(portOf(container, 'metrics'));
        }
      }
    });

    it('gives ingest stable MQTT clientIds: a StatefulSet naming them after its pods', () => {
      const ingest = workloads.find((w) => serviceOf(w) === 'ingest') as Resource;
      expect(ingest.kind).toBe('StatefulSet');
      const clientId = ((mainContainer(ingest).env ?? []) as EnvVar[]).find(
        (v) => v.name === MQFT_VARIABLES.mqttClientId.name,
      );
      expect(clientId?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
      const governing = find(resources, 'Service', spec(ingest).serviceName as string);
      expect(governing, 'the governing Service').toBeDefined();
      expect(spec(governing as Resource).clusterIP).toBe('None');
    });

    it('has selectors that match: workloads, Services, PDBs, NetworkPolicies', () => {
      for (const w of workloads) {
        const selector = (spec(w).selector as { matchLabels: Record<string, string> }).matchLabels;
        expect(labelsMatch(selector, templateLabels(w)), `${w.metadata.name} selector`).toBe(true);
      }
      const selected = (selector: Record<string, string>) =>
        workloads.filter((w) => labelsMatch(selector, templateLabels(w)));
      for (const svc of byKind(resources, 'Service')) {
        const pods = selected(spec(svc).selector as Record<string, string>);
        expect(pods, `Service ${svc.metadata.name} selects one workload`).toHaveLength(1);
        const container = mainContainer(pods[0] as Resource);
        for (const port of spec(svc).ports as { targetPort: string | number; port: number }[]) {
          expect(portOf(container, port.targetPort), `${svc.metadata.name}`).toBe(port.port);
        }
      }
      for (const pdb of byKind(resources, 'PodDisruptionBudget')) {
        const selector = (spec(pdb).selector as { matchLabels: Record<string, string> })
          .matchLabels;
        expect(selected(selector), `PDB ${pdb.metadata.name}`).toHaveLength(1);
      }
      const pdbTargets = byKind(resources, 'PodDisruptionBudget').flatMap((pdb) =>
        selected((spec(pdb).selector as { matchLabels: Record<string, string> }).matchLabels),
      );
      expect(new Set(pdbTargets).size, 'every workload has a PDB').toBe(workloads.length);
      for (const policy of byKind(resources, 'NetworkPolicy')) {
        const pods = selected(
          (spec(policy).podSelector as { matchLabels: Record<string, string> }).matchLabels,
        );
        expect(pods.length, `NetworkPolicy ${policy.metadata.name} selects pods`).toBeGreaterThan(
          0,
        );
        const rules = (spec(policy).ingress ?? []) as { ports?: { port: string | number }[] }[];
        for (const port of rules.flatMap((rule) => rule.ports ?? [])) {
          for (const pod of pods) portOf(mainContainer(pod), port.port);
        }
      }
    });

    it('autoscales assembler on the consumer backlog (CPU fallback) and control on CPU', async () => {
      const metrics = await metricsCatalogue();
      const hpas = byKind(resources, 'HorizontalPodAutoscaler');
      for (const hpa of hpas) {
        const ref = spec(hpa).scaleTargetRef as { apiVersion: string; kind: string; name: string };
        const target = find(resources, ref.kind, ref.name);
        expect(target, `HPA ${hpa.metadata.name} target`).toBeDefined();
        expect((target as Resource).apiVersion).toBe(ref.apiVersion);
        const resourcesOf = mainContainer(target as Resource).resources as {
          requests?: { cpu?: string };
        };
        expect(resourcesOf.requests?.cpu, 'CPU utilization needs a CPU request').toBeDefined();
        expect(spec(hpa).minReplicas as number).toBeGreaterThanOrEqual(2);
      }
      const byService = (s: ServiceName) =>
        hpas.find((h) => {
          const ref = spec(h).scaleTargetRef as { kind: string; name: string };
          return serviceOf(find(resources, ref.kind, ref.name) as Resource) === s;
        });
      const assembler = byService('assembler') as Resource;
      const types = (assembler.spec as { metrics: { type: string }[] }).metrics;
      const external = (
        types.find((m) => m.type === 'External') as unknown as {
          external: { metric: { name: string }; target: { type: string } };
        }
      ).external;
      expect(external.metric.name).toBe('mqft_assembler_consumer_pending');
      expect(external.target.type, 'the backlog is shared: divide it by replicas').toBe(
        'AverageValue',
      );
      const metric = metrics.find((m) => m.name === external.metric.name);
      expect(metric).toMatchObject({ type: 'gauge', services: ['assembler'] });
      expect(types.map((m) => m.type)).toContain('Resource');
      const control = byService('control') as Resource;
      expect((control.spec as { metrics: { type: string }[] }).metrics.map((m) => m.type)).toEqual([
        'Resource',
      ]);
      expect(byService('ingest'), 'ingest is scaled deliberately').toBeUndefined();
    });

    it('lets SIGTERM finish: terminationGracePeriodSeconds > MQFT_SHUTDOWN_GRACE + 10 s', () => {
      for (const w of workloads) {
        const env = containerEnvironment(resources, mainContainer(w));
        const graceMs = parseDuration(
          env[MQFT_VARIABLES.shutdownGrace.name] ??
            (MQFT_VARIABLES.shutdownGrace.defaultText as string),
        ) as number;
        const pod = podSpec(w) as { terminationGracePeriodSeconds?: number };
        expect(pod.terminationGracePeriodSeconds, w.metadata.name).toBeGreaterThanOrEqual(
          graceMs / 1000 + 10,
        );
      }
    });

    it('runs locked down: non-root, read-only root, no capabilities, seccomp, resources', () => {
      for (const w of workloads) {
        const pod = podSpec(w) as Record<string, unknown>;
        expect(pod.automountServiceAccountToken).toBe(false);
        expect(find(resources, 'ServiceAccount', pod.serviceAccountName as string)).toBeDefined();
        expect(pod.securityContext).toMatchObject({
          runAsNonRoot: true,
          runAsUser: 65532,
          seccompProfile: { type: 'RuntimeDefault' },
        });
        for (const container of podContainers([w])) {
          expect(container.securityContext, container.name).toMatchObject({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          });
          expect(container.resources).toMatchObject({
            // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vitest types its asymmetric matchers any
            requests: { cpu: expect.any(String), memory: expect.any(String) },
            // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vitest types its asymmetric matchers any
            limits: { memory: expect.any(String) },
          });
        }
      }
    });

    it('keeps credentials in the Secret, handed only to the containers that need them', () => {
      const secretKeys = Object.keys(secretData(resources, 'mqft-secrets'));
      expect(secretKeys.sort()).toEqual(
        [
          'AWS_ACCESS_KEY_ID',
          'AWS_SECRET_ACCESS_KEY',
          'MQFT_API_TOKENS',
          'MQFT_MQTT_PASSWORD',
          'MQFT_WEBHOOK_SECRET',
        ].sort(),
      );
      const config = configMapData(resources, 'mqft-config');
      for (const key of secretKeys) expect(config).not.toHaveProperty(key);
      for (const w of workloads) {
        const container = mainContainer(w);
        expect(
          ((container.envFrom ?? []) as { secretRef?: unknown }[]).some((f) => f.secretRef),
          'no envFrom of the whole Secret',
        ).toBe(false);
      }
      const control = workloads.find((w) => serviceOf(w) === 'control') as Resource;
      const tokens = ((mainContainer(control).env ?? []) as EnvVar[]).find(
        (v) => v.name === MQFT_VARIABLES.apiTokens.name,
      );
      expect(tokens?.valueFrom?.secretKeyRef?.name).toBe('mqft-secrets');
      // The webhook's key goes to control only (the service that signs).
      for (const w of workloads) {
        const webhookSecret = ((mainContainer(w).env ?? []) as EnvVar[]).find(
          (v) => v.name === MQFT_VARIABLES.webhookSecret.name,
        );
        if (serviceOf(w) === 'control')
          expect(webhookSecret?.valueFrom?.secretKeyRef?.name).toBe('mqft-secrets');
        else expect(webhookSecret, `${serviceOf(w)} gets no webhook key`).toBeUndefined();
      }
    });

    it('runs with the runtime flags of SERVICE_RUNTIME_ENV (from the image, not overridden)', () => {
      for (const w of workloads) {
        const names = ((mainContainer(w).env ?? []) as EnvVar[]).map((v) => v.name);
        for (const name of Object.keys(SERVICE_RUNTIME_ENV)) expect(names).not.toContain(name);
      }
      expect(Object.keys(configMapData(resources, 'mqft-config'))).not.toContain('NODE_OPTIONS');
    });

    if (title === 'overlay example') {
      it('sets what the example promises: namespace, image, replicas, NATS cluster, S3', () => {
        for (const r of resources) {
          if (r.kind !== 'Namespace') expect(r.metadata.namespace, resourceKey(r)).toBe('mqft');
        }
        for (const container of podContainers(workloads)) {
          expect(container.image).toBe('registry.example.com/mqft/mqft:0.1.0');
        }
        for (const w of workloads) expect(spec(w).replicas, w.metadata.name).toBe(3);
        const config = configMapData(resources, 'mqft-config');
        expect(config.MQFT_STREAM_REPLICAS).toBe('3');
        expect(config.MQFT_NATS_URL?.split(',')).toHaveLength(3);
        expect(config.MQFT_STORAGE).toMatch(/^s3:\/\/[^?]+\?.*endpoint=https:\/\//);
        expect(config.MQFT_REDIS_URL).toMatch(/^redis\+cluster:\/\//);
        expect(find(resources, 'ServiceMonitor', 'mqft')).toBeDefined();
        expect(find(resources, 'PrometheusRule', 'mqft')).toBeDefined();
      });
    }
  });
}

describe('deploy/Dockerfile', () => {
  const dockerfile = readFileSync(join(REPO_ROOT, 'deploy/Dockerfile'), 'utf8');
  const instructions = dockerfile
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((line) => /^[A-Z]+\s/.test(line));
  const stages = dockerfile.split(/^FROM /m).slice(1);
  const runtime = stages.at(-1) as string;

  it('builds with the pinned pnpm and Node major, and runs on a distroless Node 20', () => {
    const pinned = (
      JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
        packageManager: string;
      }
    ).packageManager.split('@')[1];
    expect(dockerfile).toContain(`ARG PNPM_VERSION=${pinned}`);
    expect(dockerfile).toContain('ARG NODE_MAJOR=20');
    expect(instructions.filter((l) => l.startsWith('RUN '))).toContain('RUN pnpm build');
    expect(runtime).toMatch(/^gcr\.io\/distroless\/nodejs\$\{NODE_MAJOR\}-debian12:nonroot/);
  });

  it('ships dist/ only, as a non-root user, with the Kubernetes ids', () => {
    const copies = runtime.split('\n').filter((l) => l.startsWith('COPY '));
    expect(copies).toEqual(['COPY --from=build /src/dist/ ./dist/']);
    expect(runtime).toMatch(/^USER 65532:65532$/m);
  });

  it('sets exactly SERVICE_RUNTIME_ENV (what the tests measure the services with)', () => {
    const env = instructions
      .filter((l) => l.startsWith('ENV '))
      .flatMap((l) => l.slice(4).trim().split(/\s+/))
      .map((pair): [string, string] => [
        pair.slice(0, pair.indexOf('=')),
        pair.slice(pair.indexOf('=') + 1),
      ]);
    const values = Object.fromEntries(env);
    for (const [name, value] of Object.entries(SERVICE_RUNTIME_ENV)) {
      expect(values[name], name).toBe(value);
    }
  });

  it('starts a bundle: node --enable-source-maps dist/<service>.mjs', () => {
    expect(runtime).toContain('ENTRYPOINT ["/nodejs/bin/node", "--enable-source-maps"]');
    expect(runtime).toContain('CMD ["dist/ingest.mjs"]');
    const exposed = (/^EXPOSE (.*)$/m.exec(runtime)?.[1] ?? '').split(/\s+/).map(Number);
    const expected = [
      ...SERVICES.map((s) => defaultPort(s, HTTP_ADDR)),
      defaultPort('control', MQFT_VARIABLES.grpcAddr.name),
      defaultPort('control', MQFT_VARIABLES.httpApiAddr.name),
    ];
    expect(exposed.sort()).toEqual(expected.sort());
  });

  it('keeps dependencies, build output and git out of the build context', () => {
    const ignore = readFileSync(join(REPO_ROOT, 'deploy/Dockerfile.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    for (const entry of ['**/node_modules', 'dist', '.git']) expect(ignore).toContain(entry);
  });
});

describe('Mosquitto on Kubernetes (deploy/mosquitto/configmap.yaml, deploy/k8s/mosquitto)', () => {
  const conf = readFileSync(join(REPO_ROOT, 'deploy/mosquitto/mosquitto.conf'), 'utf8');
  const [configMap] = readYamlDocuments(
    join(REPO_ROOT, 'deploy/mosquitto/configmap.yaml'),
  ) as Resource[];
  const resources = renderKustomization(join(REPO_ROOT, 'deploy/k8s/mosquitto'));

  it('the ConfigMap holds exactly the tested mosquitto.conf', async () => {
    await validateResource(configMap as Resource);
    expect((configMap as Resource).data).toEqual({ 'mosquitto.conf': conf });
  });

  it('the broker mounts it where it reads it, and keeps its persistence on a volume', async () => {
    for (const r of resources) await validateResource(r);
    const broker = find(resources, 'StatefulSet', 'mosquitto') as Resource;
    const pod = podSpec(broker) as unknown as {
      volumes: { name: string; configMap?: { name: string } }[];
    };
    const container = mainContainer(broker);
    const mounts = container.volumeMounts as { name: string; mountPath: string }[];
    const config = pod.volumes.find((v) => v.configMap)?.configMap?.name;
    expect(config).toBe((configMap as Resource).metadata.name);
    const configPath = `${mounts.find((m) => m.name === 'config')?.mountPath}/mosquitto.conf`;
    expect(container.args).toEqual(['mosquitto', '-c', configPath]);
    const persistence = /^persistence_location (\S+?)\/?$/m.exec(conf)?.[1];
    expect(mounts.find((m) => m.name === 'data')?.mountPath).toBe(persistence);
    const listener = Number(/^listener (\d+)/m.exec(conf)?.[1]);
    expect(portOf(container, 'mqtt')).toBe(listener);
  });
});
