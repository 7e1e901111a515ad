/** The stand-in's etcd: objects by resource/namespace/name, one resourceVersion counter, a watch feed. */
import { randomUUID } from 'node:crypto';
import type { ResourceDef } from './resources.ts';
import { cloneJson, type KubeObject } from './types.ts';

export interface StoreEvent {
  resourceVersion: number;
  resource: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  /** The object before a MODIFIED, to tell a watch with a selector that it left the selection. */
  previous?: KubeObject;
}

type Listener = (event: StoreEvent) => void;

/** How many events a watch may resume from; older resourceVersions answer 410 Gone. */
const historyLimit = 5000;

export class ObjectStore {
  private readonly objects = new Map<string, KubeObject>();
  private readonly listeners = new Set<Listener>();
  private readonly history: StoreEvent[] = [];
  private revision = 1000;

  get resourceVersion(): number {
    return this.revision;
  }

  /** The oldest resourceVersion a watch can still resume after. */
  get oldestResumable(): number {
    return this.history.length > 0 ? this.history[0].resourceVersion - 1 : this.revision;
  }

  private key(resource: string, namespace: string | undefined, name: string): string {
    return `${resource}/${namespace ?? ''}/${name}`;
  }

  get(def: ResourceDef, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.objects.get(this.key(def.resource, def.namespaced ? namespace : undefined, name));
    return found ? cloneJson(found) : undefined;
  }

  /** Objects of a resource, in one namespace or (namespace undefined) all, sorted by namespace and name. */
  list(def: ResourceDef, namespace?: string): KubeObject[] {
    const prefix =
      def.namespaced && namespace !== undefined ? `${def.resource}/${namespace}/` : `${def.resource}/`;
    const found: KubeObject[] = [];
    for (const [key, obj] of this.objects) if (key.startsWith(prefix)) found.push(cloneJson(obj));
    return found.sort(
      (a, b) =>
        (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') ||
        a.metadata.name.localeCompare(b.metadata.name),
    );
  }

  /** Stores a new object, filling uid, creationTimestamp, resourceVersion (and generation). */
  create(def: ResourceDef, object: KubeObject): KubeObject {
    const stored = cloneJson(object);
    stored.metadata.uid = randomUUID();
    stored.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    if (def.hasGeneration) stored.metadata.generation = 1;
    if (!def.namespaced) delete stored.metadata.namespace;
    return this.commit(def, stored, 'ADDED', undefined);
  }

  /** Replaces a stored object (the caller has checked preconditions); bumps resourceVersion. */
  replace(def: ResourceDef, object: KubeObject): KubeObject {
    const key = this.key(
      def.resource,
      def.namespaced ? object.metadata.namespace : undefined,
      object.metadata.name,
    );
    const previous = this.objects.get(key);
    if (!previous) throw new Error(`kube stand-in: replace of missing ${key}`);
    return this.commit(def, cloneJson(object), 'MODIFIED', previous);
  }

  remove(def: ResourceDef, namespace: string | undefined, name: string): KubeObject | undefined {
    const key = this.key(def.resource, def.namespaced ? namespace : undefined, name);
    const previous = this.objects.get(key);
    if (!previous) return undefined;
    this.objects.delete(key);
    const removed = cloneJson(previous);
    removed.metadata.resourceVersion = String(++this.revision);
    this.emit({ resourceVersion: this.revision, resource: def.resource, type: 'DELETED', object: removed });
    return cloneJson(removed);
  }

  private commit(
    def: ResourceDef,
    object: KubeObject,
    type: 'ADDED' | 'MODIFIED',
    previous?: KubeObject,
  ): KubeObject {
    object.metadata.resourceVersion = String(++this.revision);
    this.objects.set(
      this.key(def.resource, def.namespaced ? object.metadata.namespace : undefined, object.metadata.name),
      object,
    );
    this.emit({
      resourceVersion: this.revision,
      resource: def.resource,
      type,
      object: cloneJson(object),
      previous,
    });
    return cloneJson(object);
  }

  private emit(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > historyLimit) this.history.splice(0, this.history.length - historyLimit);
    for (const listener of this.listeners) listener(event);
  }

  /** Events after `resourceVersion`, oldest first (the caller checks `oldestResumable` first). */
  eventsSince(resourceVersion: number): StoreEvent[] {
    return this.history.filter((e) => e.resourceVersion > resourceVersion);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
