/** Create / update / patch / delete with the apiserver's bookkeeping, for HTTP handlers and the simulation alike. */
import { randomBytes } from 'node:crypto';
import { applyDefaults, foldStringData, validate } from './defaults.ts';
import { applyPatch, type PatchType } from './patch.ts';
import { apiVersionOf, findByKind, type ResourceDef } from './resources.ts';
import { formatSelector } from './selectors.ts';
import { alreadyExists, badRequest, conflict, invalid, invalidValue, notFound } from './status.ts';
import { ObjectStore } from './store.ts';
import { cloneJson, type KubeObject, type Workload } from './types.ts';

export interface WriteOptions {
  dryRun?: boolean;
}

/** The parts of an object a write to the main resource may not change. */
function keepSystemFields(def: ResourceDef, next: KubeObject, current: KubeObject): void {
  const meta = current.metadata;
  next.metadata.uid = meta.uid;
  next.metadata.creationTimestamp = meta.creationTimestamp;
  next.metadata.namespace = meta.namespace;
  if (meta.deletionTimestamp) next.metadata.deletionTimestamp = meta.deletionTimestamp;
  if (meta.deletionGracePeriodSeconds !== undefined)
    next.metadata.deletionGracePeriodSeconds = meta.deletionGracePeriodSeconds;
  if (meta.generation !== undefined) next.metadata.generation = meta.generation;
  if (def.hasStatus) {
    if (current.status === undefined) delete next.status;
    else next.status = cloneJson(current.status);
  }
  next.apiVersion = apiVersionOf(def);
  next.kind = def.kind;
}

function sameExceptVersion(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) =>
    JSON.stringify({ ...o, metadata: { ...o.metadata, resourceVersion: undefined } });
  return strip(a) === strip(b);
}

export class ClusterState {
  readonly store = new ObjectStore();

  get(def: ResourceDef, namespace: string | undefined, name: string): KubeObject {
    const found = this.store.get(def, namespace, name);
    if (!found) throw notFound(def.resource, def.group, name);
    return found;
  }

  find(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.store.get(findByKind(kind), namespace, name);
  }

  list(kind: string, namespace?: string): KubeObject[] {
    return this.store.list(findByKind(kind), namespace);
  }

  ensureNamespace(name: string): void {
    const def = findByKind('Namespace');
    if (this.store.get(def, undefined, name)) return;
    this.create(def, undefined, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
    });
  }

  create(
    def: ResourceDef,
    namespace: string | undefined,
    body: KubeObject,
    options: WriteOptions = {},
  ): KubeObject {
    const obj = cloneJson(body);
    obj.metadata ??= { name: '' };
    if (def.namespaced) {
      if (obj.metadata.namespace && obj.metadata.namespace !== namespace) {
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      obj.metadata.namespace = namespace;
      if (!this.store.get(findByKind('Namespace'), undefined, namespace ?? ''))
        throw notFound('namespaces', '', namespace ?? '');
    }
    if (!obj.metadata.name && obj.metadata.generateName) {
      obj.metadata.name = obj.metadata.generateName + randomBytes(3).toString('hex').slice(0, 5);
    }
    obj.apiVersion = apiVersionOf(def);
    obj.kind = def.kind;
    foldStringData(obj);
    applyDefaults(def, obj);
    validate(def, obj);
    delete obj.metadata.resourceVersion;
    if (this.store.get(def, namespace, obj.metadata.name))
      throw alreadyExists(def.resource, def.group, obj.metadata.name);
    if (options.dryRun) return obj;
    return this.store.create(def, obj);
  }

  /** PUT of the main resource: optimistic concurrency on resourceVersion, status kept, generation bumped on spec change. */
  update(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    body: KubeObject,
    options: WriteOptions = {},
  ): KubeObject {
    const current = this.get(def, namespace, name);
    const next = cloneJson(body);
    next.metadata ??= { name };
    if (next.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    if (def.namespaced && next.metadata.namespace && next.metadata.namespace !== namespace) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    if (body.kind && body.kind !== def.kind) throw badRequest(`kind ${body.kind} does not match ${def.kind}`);
    const rv = next.metadata.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion) throw conflict(def.resource, def.group, name);
    keepSystemFields(def, next, current);
    foldStringData(next);
    return this.commitUpdate(def, current, next, options);
  }

  patch(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    options: WriteOptions = {},
  ): KubeObject {
    const current = this.get(def, namespace, name);
    const next = applyPatch(type, current, patch) as KubeObject;
    if (next.metadata?.name !== name)
      throw badRequest('metadata.name: Invalid value: the name of a patched object cannot change');
    const rv = next.metadata.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion) throw conflict(def.resource, def.group, name);
    keepSystemFields(def, next, current);
    foldStringData(next);
    return this.commitUpdate(def, current, next, options);
  }

  private commitUpdate(
    def: ResourceDef,
    current: KubeObject,
    next: KubeObject,
    options: WriteOptions,
  ): KubeObject {
    next.metadata.resourceVersion = current.metadata.resourceVersion;
    applyDefaults(def, next);
    validate(def, next);
    if (def.hasGeneration && JSON.stringify(next.spec) !== JSON.stringify(current.spec)) {
      next.metadata.generation = (current.metadata.generation ?? 1) + 1;
    }
    if (sameExceptVersion(next, current) || options.dryRun) return next;
    return this.store.replace(def, next);
  }

  /** Writes `status` (the controller's path; no generation bump, no-op when unchanged). */
  writeStatus(
    kind: string,
    namespace: string | undefined,
    name: string,
    status: Record<string, unknown>,
  ): void {
    const def = findByKind(kind);
    const current = this.store.get(def, namespace, name);
    if (!current || JSON.stringify(current.status) === JSON.stringify(status)) return;
    this.store.replace(def, { ...current, status });
  }

  /** The controller's and the simulation's own writes: replaces the stored object as given. */
  writeSystem(kind: string, obj: KubeObject): KubeObject {
    return this.store.replace(findByKind(kind), obj);
  }

  /** DELETE: pods terminate gracefully (the simulation removes them); other objects go at once. */
  remove(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    gracePeriodSeconds?: number,
    options: WriteOptions = {},
  ): KubeObject | undefined {
    const current = this.get(def, namespace, name);
    if (options.dryRun) return current;
    if (def.kind === 'Pod' && gracePeriodSeconds !== 0) {
      if (current.metadata.deletionTimestamp) return current;
      const grace = gracePeriodSeconds ?? 30;
      current.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000)
        .toISOString()
        .replace(/\.\d+Z$/, 'Z');
      current.metadata.deletionGracePeriodSeconds = grace;
      return this.store.replace(def, current);
    }
    if (def.kind === 'Namespace') {
      for (const other of ['Pod', 'ConfigMap', 'Secret', 'Service', 'Deployment', 'ReplicationController']) {
        for (const obj of this.list(other, name))
          this.store.remove(findByKind(other), name, obj.metadata.name);
      }
    }
    this.store.remove(def, namespace, name);
    return undefined;
  }

  /** autoscaling/v1 Scale of a Deployment or RC. */
  toScale(obj: KubeObject): KubeObject {
    const w = obj as Workload;
    const status = (w.status ?? {}) as { replicas?: number };
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: w.metadata.name,
        namespace: w.metadata.namespace,
        uid: w.metadata.uid,
        resourceVersion: w.metadata.resourceVersion,
        creationTimestamp: w.metadata.creationTimestamp,
      },
      spec: { replicas: w.spec.replicas ?? 1 },
      status: { replicas: status.replicas ?? 0, selector: formatSelector(w.spec.selector) },
    };
  }

  /** PUT or (patched) Scale: sets spec.replicas of the parent. */
  writeScale(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    scale: KubeObject,
    options: WriteOptions = {},
  ): KubeObject {
    const current = this.get(def, namespace, name) as Workload;
    if (scale.metadata?.name && scale.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${scale.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    const rv = scale.metadata?.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion) throw conflict(def.resource, def.group, name);
    const replicas = (scale.spec as { replicas?: unknown } | undefined)?.replicas ?? 0;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw invalid('Scale', 'autoscaling', name, [
        invalidValue('spec.replicas', replicas, 'must be greater than or equal to 0'),
      ]);
    }
    if (replicas === current.spec.replicas || options.dryRun) {
      return this.toScale({ ...current, spec: { ...current.spec, replicas } } as Workload);
    }
    const next = cloneJson(current);
    next.spec.replicas = replicas;
    next.metadata.generation = (current.metadata.generation ?? 1) + 1;
    return this.toScale(this.store.replace(def, next));
  }
}
