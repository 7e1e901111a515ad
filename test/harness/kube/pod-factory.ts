/** Pods as the ReplicaSet and ReplicationController controllers create them, named like the real ones. */
import { createHash, randomInt } from 'node:crypto';
import type { ContainerStatus, OwnerReference, Pod, StringMap, Workload } from './types.ts';

/** k8s.io/apimachinery rand.SafeEncodeString's alphabet: no vowels, no confusable digits. */
const alphabet = 'bcdfghjklmnpqrstvwxz2456789';

export function randomSuffix(length = 5): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

function fnv32a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** The `pod-template-hash` of a Deployment's template (fnv32a, safe-encoded like the controller's). */
export function templateHash(template: unknown): string {
  return [...String(fnv32a(JSON.stringify(template)))].map((d) => alphabet[Number(d)]).join('');
}

/** A stable uid for the ReplicaSet a Deployment would own for one template hash. */
function replicaSetUid(deploymentUid: string, hash: string): string {
  const hex = createHash('sha1').update(`${deploymentUid}/${hash}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function ownerOfDeploymentPod(d: Workload, hash: string): OwnerReference {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    name: `${d.metadata.name}-${hash}`,
    uid: replicaSetUid(d.metadata.uid ?? '', hash),
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function ownerOfRcPod(rc: Workload): OwnerReference {
  return {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    name: rc.metadata.name,
    uid: rc.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

let nextIp = 10;

function waitingStatuses(pod: Pod): ContainerStatus[] {
  return pod.spec.containers.map((c) => ({
    name: c.name,
    ready: false,
    started: false,
    restartCount: 0,
    image: c.image ?? '',
    imageID: '',
    state: { waiting: { reason: 'ContainerCreating' } },
  }));
}

/** A new Pending pod from a workload's template. */
export function newPod(w: Workload, name: string, extraLabels: StringMap, owner: OwnerReference): Pod {
  const template = w.spec.template;
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: w.metadata.namespace,
      labels: { ...(template.metadata?.labels ?? {}), ...extraLabels },
      ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ownerReferences: [owner],
    },
    spec: { ...structuredClone(template.spec ?? { containers: [] }), nodeName: 'standin-node' },
    status: { phase: 'Pending' },
  };
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  pod.status = {
    phase: 'Pending',
    conditions: [
      { type: 'Initialized', status: 'True', lastTransitionTime: now },
      { type: 'Ready', status: 'False', lastTransitionTime: now, reason: 'ContainersNotReady' },
      { type: 'ContainersReady', status: 'False', lastTransitionTime: now, reason: 'ContainersNotReady' },
      { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
    ],
    containerStatuses: waitingStatuses(pod),
    hostIP: '10.0.0.1',
    startTime: now,
    qosClass: 'BestEffort',
  };
  return pod;
}

/** The same pod, Running and Ready. */
export function runningPod(pod: Pod): Pod {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const next = structuredClone(pod);
  nextIp = nextIp >= 250 ? 10 : nextIp + 1;
  next.status.phase = 'Running';
  next.status.podIP = `10.244.0.${nextIp}`;
  next.status.conditions = (next.status.conditions ?? []).map((c) =>
    ['Ready', 'ContainersReady'].includes(c.type)
      ? { type: c.type, status: 'True', lastTransitionTime: now }
      : c,
  );
  next.status.containerStatuses = (next.status.containerStatuses ?? []).map((cs) => ({
    ...cs,
    ready: true,
    started: true,
    imageID: `docker.io/${cs.image}@sha256:${createHash('sha256').update(cs.image).digest('hex')}`,
    containerID: `containerd://${createHash('sha256').update(`${pod.metadata.uid}/${cs.name}`).digest('hex')}`,
    state: { running: { startedAt: now } },
  }));
  return next;
}
