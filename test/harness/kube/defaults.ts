/** Defaulting and validation the apiserver does on create/update, for the kinds the stand-in serves. */
import type { ResourceDef } from './resources.ts';
import { selectorOfWorkload } from './selectors.ts';
import { invalid, invalidValue, type StatusCause } from './status.ts';
import type { KubeObject, Pod, Workload } from './types.ts';

const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function defaultPodSpec(spec: Record<string, unknown> | undefined): Record<string, unknown> {
  return {
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    dnsPolicy: 'ClusterFirst',
    schedulerName: 'default-scheduler',
    securityContext: {},
    ...spec,
    containers: ((spec?.containers as Record<string, unknown>[] | undefined) ?? []).map((c) => ({
      imagePullPolicy: 'IfNotPresent',
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      resources: {},
      ...c,
    })),
  };
}

function defaultWorkload(w: Workload): void {
  w.spec.replicas ??= 1;
  const template = w.spec.template ?? {};
  w.spec.template = {
    ...template,
    spec: defaultPodSpec(template.spec) as Workload['spec']['template']['spec'],
  };
  if (w.kind === 'Deployment') {
    const strategy = w.spec.strategy ?? {};
    strategy.type ??= 'RollingUpdate';
    if (strategy.type === 'RollingUpdate')
      strategy.rollingUpdate = { maxUnavailable: '25%', maxSurge: '25%', ...strategy.rollingUpdate };
    w.spec.strategy = strategy;
    w.spec.revisionHistoryLimit ??= 10;
    w.spec.progressDeadlineSeconds ??= 600;
  }
  if (w.kind === 'ReplicationController') {
    // An RC without a selector selects its template's labels.
    if (!w.spec.selector || Object.keys(w.spec.selector).length === 0)
      w.spec.selector = { ...(template.metadata?.labels ?? {}) };
    w.metadata.labels ??= { ...(template.metadata?.labels ?? {}) };
  }
  w.status ??= {};
}

/** Fills what the apiserver fills on create; mutates `obj`. */
export function applyDefaults(def: ResourceDef, obj: KubeObject): void {
  if (def.kind === 'Deployment' || def.kind === 'ReplicationController') defaultWorkload(obj as Workload);
  if (def.kind === 'Pod') {
    const pod = obj as Pod;
    pod.spec = defaultPodSpec(pod.spec) as Pod['spec'];
    pod.status ??= { phase: 'Pending' };
  }
  if (def.kind === 'Secret') obj.type ??= 'Opaque';
  if (def.kind === 'Namespace') {
    obj.spec ??= { finalizers: ['kubernetes'] };
    obj.status = { phase: 'Active' };
  }
  if (def.kind === 'Service') {
    obj.spec ??= {};
    const spec = obj.spec as Record<string, unknown>;
    spec.type ??= 'ClusterIP';
    spec.clusterIP ??= `10.96.${Math.floor(Math.random() * 250) + 1}.${Math.floor(Math.random() * 250) + 1}`;
  }
}

function validateWorkload(w: Workload, causes: StatusCause[]): void {
  const replicas = w.spec.replicas;
  if (replicas !== undefined && (!Number.isInteger(replicas) || replicas < 0)) {
    causes.push(invalidValue('spec.replicas', replicas, 'must be greater than or equal to 0'));
  }
  const labels = w.spec.template?.metadata?.labels ?? {};
  const selectorMap =
    (w.spec.selector as { matchLabels?: object } | undefined)?.matchLabels ?? w.spec.selector;
  if (!selectorMap || Object.keys(selectorMap).length === 0) {
    causes.push({ reason: 'FieldValueRequired', field: 'spec.selector', message: 'Required value' });
  } else if (!selectorOfWorkload(w.spec.selector)(labels)) {
    causes.push(
      invalidValue('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'),
    );
  }
  if ((w.spec.template?.spec?.containers ?? []).length === 0) {
    causes.push({
      reason: 'FieldValueRequired',
      field: 'spec.template.spec.containers',
      message: 'Required value',
    });
  }
}

function validateData(obj: KubeObject, causes: StatusCause[]): void {
  for (const field of ['data', 'binaryData', 'stringData']) {
    for (const [key, value] of Object.entries((obj[field] as Record<string, unknown> | undefined) ?? {})) {
      if (typeof value !== 'string') causes.push(invalidValue(`${field}[${key}]`, value, 'must be a string'));
      if (!/^[-._a-zA-Z0-9]+$/.test(key)) {
        causes.push(
          invalidValue(
            `${field}[${key}]`,
            key,
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
          ),
        );
      }
    }
  }
}

/** Throws 422 Invalid with the apiserver's wording when `obj` would not be accepted. */
export function validate(def: ResourceDef, obj: KubeObject): void {
  const causes: StatusCause[] = [];
  const name = obj.metadata.name;
  const namePattern = def.kind === 'Namespace' || def.kind === 'Service' ? dnsLabel : dnsSubdomain;
  if (!name)
    causes.push({
      reason: 'FieldValueRequired',
      field: 'metadata.name',
      message: 'Required value: name or generateName is required',
    });
  else if (name.length > 253 || !namePattern.test(name)) {
    causes.push(
      invalidValue(
        'metadata.name',
        name,
        'a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters',
      ),
    );
  }
  for (const field of ['labels', 'annotations'] as const) {
    for (const [key, value] of Object.entries(obj.metadata[field] ?? {})) {
      if (typeof value !== 'string')
        causes.push(invalidValue(`metadata.${field}`, value, `${key}: must be a string`));
    }
  }
  if (def.kind === 'Deployment' || def.kind === 'ReplicationController')
    validateWorkload(obj as Workload, causes);
  if (def.kind === 'ConfigMap' || def.kind === 'Secret') validateData(obj, causes);
  if (causes.length > 0) throw invalid(def.kind, def.group, name ?? '', causes);
}

/** A Secret written with stringData is stored as base64 data, as on the server. */
export function foldStringData(obj: KubeObject): void {
  if (obj.kind !== 'Secret' || !obj.stringData) return;
  const data = (obj.data ?? {}) as Record<string, string>;
  for (const [key, value] of Object.entries(obj.stringData as Record<string, string>)) {
    data[key] = Buffer.from(value).toString('base64');
  }
  obj.data = data;
  delete obj.stringData;
}
