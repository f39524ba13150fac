/**
 * deploy/ checked without a cluster or a container runtime: every Kubernetes manifest
 * parses and validates against Kubernetes' schemas (kubernetes-models); the Kustomize
 * overlays render with `kubectl kustomize` where kubectl is installed (Debian's
 * kubernetes-client, installed by .ci/run) and their structure is checked here in any case;
 * every environment variable a manifest, the compose file or the Dockerfile sets is one
 * libs/config accepts; the compose file names images that exist, at pinned tags.
 */
import { CONFIG_VARIABLES } from '@herald/config';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ConfigMap, Secret, Service, type IContainer, type IService } from 'kubernetes-models/v1';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler, type IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Ingress, NetworkPolicy, type IIngress } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget, type IPodDisruptionBudget } from 'kubernetes-models/policy/v1';

const deploy = dirname(fileURLToPath(import.meta.url));
const root = join(deploy, '..');

const ACCEPTED = new Set(CONFIG_VARIABLES);

/** The apps the image runs: dist/apps/<app>/src/main.js. */
const APPS = ['api', 'projector', 'relay'];

/**
 * The images compose pulls, at the tags their publishers document (each checked against
 * the publisher's documentation: they cannot be pulled here). A new image or tag goes here
 * with where it is documented.
 */
const KNOWN_IMAGES: Record<string, readonly string[]> = {
  // EventStoreDB on Docker Hub (eventstore/eventstore), 24.10 LTS; KurrentDB 25 is the same protocol.
  'docker.io/eventstore/eventstore': ['24.10'],
  // The Apache Kafka project's image (KRaft mode by default).
  'docker.io/apache/kafka': ['3.9.0'],
  // The Docker official PostgreSQL and Node.js images.
  'docker.io/library/postgres': ['17'],
  'docker.io/library/node': ['20-bookworm-slim'],
  // Elastic's registry.
  'docker.elastic.co/elasticsearch/elasticsearch': ['8.15.3'],
};

type Doc = { apiVersion?: string; kind?: string; metadata?: { name?: string }; [key: string]: unknown };

function yamlDocs(path: string): Doc[] {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'), { merge: true });
  for (const doc of docs) {
    expect(doc.errors, `${relative(root, path)}: ${doc.errors.map((e) => e.message).join('; ')}`).toEqual([]);
  }
  return docs.map((d) => d.toJS() as Doc).filter((d) => d !== null);
}

const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/Ingress': Ingress,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

/** Validates one manifest against Kubernetes' schema for its kind; a kind we do not know fails. */
function validateManifest(doc: Doc, where: string): void {
  const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
  expect(Model, `${where}: ${doc.apiVersion}/${doc.kind} is not a kind deploy/ uses`).toBeDefined();
  expect(() => new Model!(doc as never).validate(), where).not.toThrow();
}

const containersOf = (doc: Doc): IContainer[] => (doc as unknown as IDeployment).spec!.template.spec!.containers;
const ofKind = <T>(docs: readonly Doc[], kind: string): T[] => docs.filter((d) => d.kind === kind) as unknown as T[];

/** Every variable a set of manifests gives a container: ConfigMap and Secret keys, and env entries. */
function variablesOf(docs: readonly Doc[]): string[] {
  return docs.flatMap((doc) => {
    if (doc.kind === 'ConfigMap') return Object.keys((doc.data as object | undefined) ?? {});
    if (doc.kind === 'Secret') return Object.keys({ ...(doc.stringData as object), ...(doc.data as object) });
    if (doc.kind === 'Deployment') return containersOf(doc).flatMap((c) => (c.env ?? []).map((e) => e.name));
    return [];
  });
}

const base = join(deploy, 'k8s', 'base');
const overlays = ['dev', 'prod'].map((name) => ({ name, dir: join(deploy, 'k8s', 'overlays', name) }));
type Kustomization = {
  resources?: string[];
  bases?: string[];
  patchesStrategicMerge?: string[];
  namespace?: string;
  images?: { name: string; newName?: string; newTag?: string }[];
};
const kustomization = (dir: string): Kustomization => yamlDocs(join(dir, 'kustomization.yaml'))[0] as Kustomization;
const baseDocs = (): Doc[] => (kustomization(base).resources ?? []).flatMap((file) => yamlDocs(join(base, file)));
/** Manifests an overlay adds besides the base (the dev Secret). */
const overlayResources = (dir: string): Doc[] =>
  (kustomization(dir).resources ?? []).flatMap((file) => yamlDocs(join(dir, file)));

describe('deploy/k8s', () => {
  it('every base manifest, and every manifest an overlay adds, is valid against the Kubernetes schemas', () => {
    const docs = [...baseDocs(), ...overlays.flatMap(({ dir }) => overlayResources(dir))];
    expect(docs.length).toBeGreaterThanOrEqual(15);
    expect(docs.filter((d) => d.kind === 'Secret').map((d) => d.metadata!.name)).toEqual(['herald-secrets']);
    for (const doc of docs) validateManifest(doc, `base ${doc.kind}/${doc.metadata?.name}`);
    // Every YAML file of the base is one the kustomization lists.
    const listed = new Set((kustomization(base).resources ?? []).map((f) => join(base, f)));
    for (const file of filesUnder(base)) if (file !== join(base, 'kustomization.yaml')) expect(listed).toContain(file);
  });

  it('runs api, projector and relay with probes, resources, a non-root user and the config', () => {
    const deployments = ofKind<IDeployment>(baseDocs(), 'Deployment');
    expect(deployments.map((d) => d.metadata!.name).sort()).toEqual(['herald-api', 'herald-projector', 'herald-relay']);
    for (const d of deployments) {
      const [container] = d.spec!.template.spec!.containers;
      const app = d.metadata!.name!.replace('herald-', '');
      expect(container!.command).toEqual(['node', '--enable-source-maps', `dist/apps/${app}/src/main.js`]);
      expect(container!.readinessProbe!.httpGet).toMatchObject({ path: '/health/ready', port: 'http' });
      expect(container!.livenessProbe!.httpGet).toMatchObject({ path: '/health/live', port: 'http' });
      expect(Object.keys(container!.resources!.requests!).sort()).toEqual(['cpu', 'memory']);
      expect(Object.keys(container!.resources!.limits!).sort()).toEqual(['cpu', 'memory']);
      expect(d.spec!.template.spec!.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      const refs = (container!.envFrom ?? []).map((r) => r.configMapRef?.name ?? r.secretRef?.name);
      expect(refs.slice(0, 2)).toEqual(['herald-config', 'herald-secrets']);
    }
    const replicas: Record<string, number | undefined> = {};
    for (const d of deployments) replicas[d.metadata!.name!] = d.spec!.replicas;
    expect(replicas).toEqual({ 'herald-api': 2, 'herald-projector': 2, 'herald-relay': 1 });
  });

  it('services, the HPA, the PDBs, the ingress and the network policies point at what exists', () => {
    const docs = baseDocs();
    const podLabels = ofKind<IDeployment>(docs, 'Deployment').map((d) => d.spec!.template.metadata!.labels!);
    const selects = (selector: Record<string, string> | undefined): boolean =>
      selector !== undefined && podLabels.some((labels) => Object.entries(selector).every(([k, v]) => labels[k] === v));
    const services = ofKind<IService>(docs, 'Service');
    for (const s of services) expect(selects(s.spec!.selector), s.metadata!.name).toBe(true);
    const budgets = ofKind<IPodDisruptionBudget>(docs, 'PodDisruptionBudget');
    for (const p of budgets) expect(selects(p.spec!.selector!.matchLabels), p.metadata!.name).toBe(true);
    expect(budgets).toHaveLength(3);
    const [hpa] = ofKind<IHorizontalPodAutoscaler>(docs, 'HorizontalPodAutoscaler');
    expect(hpa!.spec!.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'herald-api' });
    expect(hpa!.spec!.metrics).toEqual([
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
    ]);
    const [ingress] = ofKind<IIngress>(docs, 'Ingress');
    const names = new Set(services.map((s) => s.metadata!.name));
    for (const rule of ingress!.spec!.rules!) {
      for (const path of rule.http!.paths) expect(names).toContain(path.backend.service!.name);
    }
    expect(ingress!.metadata!.annotations!['nginx.ingress.kubernetes.io/proxy-read-timeout']).toBe('3600');
    expect(docs.filter((d) => d.kind === 'NetworkPolicy').length).toBeGreaterThanOrEqual(1);
  });

  it("the ingress does not reach the API's /metrics: it is on METRICS_PORT, which only Prometheus may reach", () => {
    const docs = baseDocs();
    const api = ofKind<IDeployment>(docs, 'Deployment').find((d) => d.metadata!.name === 'herald-api')!;
    const [container] = containersOf(api as unknown as Doc);
    const metricsPort = Number(container!.env!.find((e) => e.name === 'METRICS_PORT')?.value);
    const ports: Record<string, number> = Object.fromEntries(container!.ports!.map((p) => [p.name!, p.containerPort]));
    expect(ports.metrics).toBe(metricsPort);
    expect(metricsPort).not.toBe(ports.http);
    expect(api.spec!.template.metadata!.annotations!['prometheus.io/port']).toBe(String(metricsPort));
    // What the ingress routes: the Service's ports, none of which is the metrics port.
    const [ingress] = ofKind<IIngress>(docs, 'Ingress');
    const service = ofKind<IService>(docs, 'Service').find((s) => s.metadata!.name === 'herald-api')!;
    for (const rule of ingress!.spec!.rules!) {
      for (const path of rule.http!.paths) {
        const port = service.spec!.ports!.find((p) => p.name === path.backend.service!.port!.name)!;
        expect([port.targetPort, ports[String(port.targetPort)]]).not.toContain(metricsPort);
        expect(port.targetPort).not.toBe('metrics');
      }
    }
    // The ingress controller reaches the HTTP port alone; monitoring the metrics port.
    const policy = docs.find((d) => d.kind === 'NetworkPolicy' && d.metadata!.name === 'herald-api') as unknown as {
      spec: {
        ingress: {
          from: { namespaceSelector: { matchLabels: Record<string, string> } }[];
          ports: { port: number }[];
        }[];
      };
    };
    const reach = (label: string): number[] =>
      policy.spec.ingress
        .filter((rule) => rule.from.some((f) => Object.keys(f.namespaceSelector.matchLabels).includes(label)))
        .flatMap((rule) => rule.ports.map((p) => p.port));
    expect(reach('kubernetes.io/metadata.name')).toEqual([ports.http]);
    expect(reach('herald.io/monitoring')).toContain(metricsPort);
  });

  it('the API believes X-Forwarded-For from the ingress controller (cluster-private addresses), so clients do not share its rate limits', () => {
    const api = ofKind<IDeployment>(baseDocs(), 'Deployment').find((d) => d.metadata!.name === 'herald-api')!;
    const [container] = containersOf(api as unknown as Doc);
    const trusted = container!.env!.find((e) => e.name === 'TRUST_PROXY')?.value?.split(',');
    expect(trusted).toEqual(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']);
    // Only private ranges: a public address's X-Forwarded-For is never believed.
    expect(trusted!.every((range) => /^(10\.|172\.16\.|192\.168\.|fc00:)/.test(range))).toBe(true);
  });

  it('the overlays are well formed: bases and patches exist, each patch names a base resource', () => {
    const inBase = new Set(baseDocs().map((d) => `${d.kind}/${d.metadata!.name}`));
    for (const { name, dir } of overlays) {
      const k = kustomization(dir);
      expect(k.namespace, name).toMatch(/^herald/);
      for (const b of k.bases ?? []) expect(existsSync(join(dir, b, 'kustomization.yaml')), `${name}: ${b}`).toBe(true);
      for (const r of k.resources ?? []) expect(existsSync(join(dir, r)), `${name}: ${r}`).toBe(true);
      expect(k.images?.map((i) => i.name)).toEqual(['herald']);
      for (const patch of k.patchesStrategicMerge ?? []) {
        for (const doc of yamlDocs(join(dir, patch))) {
          expect(inBase, `${name}/${patch}: ${doc.kind}/${doc.metadata?.name}`).toContain(
            `${doc.kind}/${doc.metadata?.name}`,
          );
        }
      }
    }
  });

  it('sets only variables libs/config accepts (base, overlays, Dockerfile)', () => {
    const patches = overlays.flatMap(({ dir }) =>
      (kustomization(dir).patchesStrategicMerge ?? []).flatMap((p) => yamlDocs(join(dir, p))),
    );
    const added = overlays.flatMap(({ dir }) => overlayResources(dir));
    const set = [...variablesOf(baseDocs()), ...variablesOf(added), ...variablesOf(patches), ...dockerfileEnv()];
    expect(set.length).toBeGreaterThan(5);
    expect(set.filter((name) => !ACCEPTED.has(name))).toEqual([]);
  });

  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  const noKubectl =
    kubectl.status === 0 ? undefined : 'kubectl is not installed (Debian: apt-get install kubernetes-client)';
  if (noKubectl) console.warn(`[deploy] rendering the overlays: skipped: ${noKubectl}`);
  describe.skipIf(noKubectl !== undefined)('kubectl kustomize', () => {
    for (const { name, dir } of overlays) {
      it(`renders overlays/${name} into valid manifests in its namespace, with its image`, () => {
        const rendered = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
        expect(rendered.status, rendered.stderr).toBe(0);
        const docs = parseAllDocuments(rendered.stdout).map((d) => d.toJS() as Doc);
        const k = kustomization(dir);
        for (const doc of docs) {
          validateManifest(doc, `${name} ${doc.kind}/${doc.metadata?.name}`);
          expect((doc.metadata as { namespace?: string }).namespace).toBe(k.namespace);
        }
        const image = `${k.images![0]!.newName}:${k.images![0]!.newTag}`;
        for (const d of docs.filter((doc) => doc.kind === 'Deployment')) {
          expect(containersOf(d).map((c) => c.image)).toEqual([image]);
        }
        expect(variablesOf(docs).filter((v) => !ACCEPTED.has(v))).toEqual([]);
        expect(docs.filter((d) => d.kind === 'Deployment')).toHaveLength(3);
        // The dev render carries its example Secret; the production one never overwrites the real one.
        expect(docs.some((d) => d.kind === 'Secret')).toBe(name === 'dev');
      });
    }
  });
});

/** ENV names the Dockerfile's runtime sets. */
function dockerfileEnv(): string[] {
  const text = readFileSync(join(deploy, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  return [...text.matchAll(/^ENV\s+(.+)$/gm)].flatMap((m) =>
    [...m[1]!.matchAll(/([A-Z_][A-Z0-9_]*)=/g)].map((v) => v[1]!),
  );
}

describe('deploy/Dockerfile', () => {
  const text = readFileSync(join(deploy, 'Dockerfile'), 'utf8');
  it('builds in one stage, runs production dependencies only as a non-root user, with a health check', () => {
    const stages = [...text.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gm)];
    expect(stages.map((s) => s[2])).toEqual(['build', 'runtime']);
    for (const [, image] of stages) expect(knownImage(image!), image).toBe(true);
    const runtime = text.slice(text.indexOf('AS runtime'));
    expect(runtime).toMatch(/npm ci --omit=dev/);
    expect(runtime).toMatch(/COPY --from=build \/app\/dist/);
    expect(runtime).toMatch(/^USER 1000:1000$/m);
    expect(runtime).toMatch(/^HEALTHCHECK .*\n.*\/health\/live/m);
    expect(runtime).toMatch(/^CMD \["node", "--enable-source-maps", "dist\/apps\/api\/src\/main.js"\]$/m);
    expect(existsSync(join(root, 'apps/api/src/main.ts'))).toBe(true);
    expect(existsSync(join(root, 'apps/relay/src/main.ts'))).toBe(true);
  });
});

function knownImage(reference: string): boolean {
  const at = reference.lastIndexOf(':');
  const [name, tag] = [reference.slice(0, at), reference.slice(at + 1)];
  return KNOWN_IMAGES[name]?.includes(tag) ?? false;
}

describe('deploy/compose', () => {
  const compose = yamlDocs(join(deploy, 'compose', 'compose.yaml'))[0] as {
    services: Record<
      string,
      {
        image: string;
        build?: unknown;
        command?: string[];
        environment?: Record<string, unknown>;
        deploy?: { replicas?: number };
      }
    >;
  };
  const apps = Object.entries(compose.services).filter(([, s]) => s.build !== undefined);

  it('is valid YAML naming images that exist, at pinned tags', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build) expect(service.image, name).toBe('herald:local');
      else expect(knownImage(service.image), `${name}: ${service.image}`).toBe(true);
    }
    expect(Object.keys(compose.services).sort()).toEqual(
      ['api', 'elasticsearch', 'eventstore', 'kafka', 'postgres', 'projector', 'relay'].sort(),
    );
  });

  it('runs the apps with replicas (api ×2, projector ×2, relay ×1) on EventStoreDB, Kafka in KRaft mode', () => {
    const replicas = Object.fromEntries(apps.map(([name, s]) => [name, s.deploy?.replicas]));
    expect(replicas).toEqual({ api: 2, projector: 2, relay: 1 });
    for (const [name, service] of apps) {
      expect(APPS).toContain(name);
      expect(service.command).toEqual(['node', '--enable-source-maps', `dist/apps/${name}/src/main.js`]);
      expect(service.environment).toMatchObject({ EVENT_STORE: 'eventstoredb', HOST: '0.0.0.0' });
      expect(String(service.environment!.EVENTSTORE_URL)).toMatch(/^esdb:\/\/eventstore:2113\?tls=false$/);
    }
    expect(compose.services.api!.environment!.RUN_PROJECTIONS).toBe('false');
    expect(compose.services.relay!.environment!.KAFKA_BROKERS).toBe('kafka:9092');
    expect(String(compose.services.kafka!.environment!.KAFKA_PROCESS_ROLES)).toBe('broker,controller');
    expect(Object.keys(compose.services).some((s) => s.includes('zookeeper'))).toBe(false);
  });

  it('gives the apps only variables libs/config accepts', () => {
    const set = apps.flatMap(([, s]) => Object.keys(s.environment ?? {}));
    expect(set.length).toBeGreaterThan(5);
    expect(set.filter((name) => !ACCEPTED.has(name))).toEqual([]);
  });
});
