/** Server-side printing: the meta.k8s.io Table that kubectl asks for (`Accept: …;as=Table;…`). */
import { formatSelector } from './selectors.ts';
import { isTerminating, type KubeObject, type Pod, type Workload } from './types.ts';

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

function col(name: string, type: string, description: string, priority = 0, format = ''): Column {
  return { name, type, format, description, priority };
}

const nameCol = col('Name', 'string', 'Name must be unique within a namespace.', 0, 'name');
const ageCol = col(
  'Age',
  'string',
  'CreationTimestamp is a timestamp representing the server time when this object was created.',
);
const workloadWide = [
  col('Containers', 'string', 'Names of each container in the template.', 1),
  col('Images', 'string', 'Images referenced by each container in the template.', 1),
  col('Selector', 'string', 'Label selector for pods.', 1),
];

const columnsByKind: Record<string, Column[]> = {
  Pod: [
    nameCol,
    col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
    col('Status', 'string', 'The aggregate status of the containers in this pod.'),
    col('Restarts', 'integer', 'The number of times the containers in this pod have been restarted.'),
    ageCol,
    col('IP', 'string', 'IP address allocated to the pod. Routable at least within the cluster.', 1),
    col('Node', 'string', 'NodeName is a request to schedule this pod onto a specific node.', 1),
    col(
      'Nominated Node',
      'string',
      'nominatedNodeName is set when this pod preempts other pods on the node.',
      1,
    ),
    col(
      'Readiness Gates',
      'string',
      'If specified, all readiness gates will be evaluated for pod readiness.',
      1,
    ),
  ],
  Deployment: [
    nameCol,
    col('Ready', 'string', 'Number of the pod with ready state'),
    col(
      'Up-to-date',
      'integer',
      'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
    ),
    col(
      'Available',
      'integer',
      'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
    ),
    ageCol,
    ...workloadWide,
  ],
  ReplicationController: [
    nameCol,
    col('Desired', 'integer', 'Replicas is the number of desired replicas.'),
    col('Current', 'integer', 'Replicas is the most recently oberved number of replicas.'),
    col('Ready', 'integer', 'The number of ready replicas for this replication controller.'),
    ageCol,
    ...workloadWide,
  ],
  ConfigMap: [nameCol, col('Data', 'string', 'Data contains the configuration data.'), ageCol],
  Secret: [
    nameCol,
    col('Type', 'string', 'Used to facilitate programmatic handling of secret data.'),
    col('Data', 'string', 'Data contains the secret data.'),
    ageCol,
  ],
  Namespace: [nameCol, col('Status', 'string', 'The status of the namespace'), ageCol],
  Service: [
    nameCol,
    col('Type', 'string', 'Determines how the Service is exposed.'),
    col('Cluster-IP', 'string', 'The IP address of the service.'),
    col('External-IP', 'string', 'External IPs for the service.'),
    col('Port(s)', 'string', 'The ports that are exposed by this service.'),
    ageCol,
  ],
};

/** apimachinery's duration.HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  return days < 365 * 2 ? `${days}d` : `${Math.floor(days / 365)}y`;
}

function age(obj: KubeObject): string {
  const created = obj.metadata.creationTimestamp;
  return created ? humanDuration(Date.now() - Date.parse(created)) : '<unknown>';
}

function podStatusText(pod: Pod): string {
  if (isTerminating(pod)) return 'Terminating';
  for (const cs of pod.status.containerStatuses ?? []) {
    const waiting = cs.state.waiting as { reason?: string } | undefined;
    if (waiting?.reason) return waiting.reason;
  }
  return pod.status.phase;
}

function podRow(pod: Pod): unknown[] {
  const statuses = pod.status.containerStatuses ?? [];
  const ready = statuses.filter((s) => s.ready).length;
  const restarts = statuses.reduce((sum, s) => sum + s.restartCount, 0);
  return [
    pod.metadata.name,
    `${ready}/${pod.spec.containers.length}`,
    podStatusText(pod),
    restarts,
    age(pod),
    pod.status.podIP ?? '<none>',
    pod.spec.nodeName ?? '<none>',
    '<none>',
    '<none>',
  ];
}

function workloadWideCells(w: Workload): unknown[] {
  const containers = w.spec.template.spec?.containers ?? [];
  return [
    containers.map((c) => c.name).join(','),
    containers.map((c) => c.image).join(','),
    formatSelector(w.spec.selector),
  ];
}

function cellsOf(obj: KubeObject): unknown[] {
  const status = (obj.status ?? {}) as Record<string, number>;
  switch (obj.kind) {
    case 'Pod':
      return podRow(obj as Pod);
    case 'Deployment': {
      const w = obj as Workload;
      const ready = `${status.readyReplicas ?? 0}/${w.spec.replicas ?? 1}`;
      return [
        w.metadata.name,
        ready,
        status.updatedReplicas ?? 0,
        status.availableReplicas ?? 0,
        age(w),
        ...workloadWideCells(w),
      ];
    }
    case 'ReplicationController': {
      const w = obj as Workload;
      return [
        w.metadata.name,
        w.spec.replicas ?? 1,
        status.replicas ?? 0,
        status.readyReplicas ?? 0,
        age(w),
        ...workloadWideCells(w),
      ];
    }
    case 'ConfigMap': {
      const cm = obj as { data?: object; binaryData?: object };
      return [
        obj.metadata.name,
        Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length,
        age(obj),
      ];
    }
    case 'Secret':
      return [
        obj.metadata.name,
        (obj.type as string) ?? 'Opaque',
        Object.keys((obj.data as object) ?? {}).length,
        age(obj),
      ];
    case 'Namespace':
      return [obj.metadata.name, (obj.status as { phase?: string })?.phase ?? 'Active', age(obj)];
    case 'Service': {
      const spec = (obj.spec ?? {}) as {
        type?: string;
        clusterIP?: string;
        ports?: { port: number; protocol?: string }[];
      };
      const ports = (spec.ports ?? []).map((p) => `${p.port}/${p.protocol ?? 'TCP'}`).join(',');
      return [
        obj.metadata.name,
        spec.type ?? 'ClusterIP',
        spec.clusterIP ?? '<none>',
        '<none>',
        ports || '<none>',
        age(obj),
      ];
    }
    default:
      return [obj.metadata.name, age(obj)];
  }
}

/** `Accept: application/json;as=Table;v=v1;g=meta.k8s.io, …`: the Table version asked for, if any. */
export function wantsTable(accept: string | undefined): string | undefined {
  for (const part of (accept ?? '').split(',')) {
    const params = new Map(
      part
        .split(';')
        .slice(1)
        .map((p) => p.trim().split('=') as [string, string]),
    );
    if (
      params.get('as') === 'Table' &&
      params.get('g') === 'meta.k8s.io' &&
      ['v1', 'v1beta1'].includes(params.get('v') ?? '')
    ) {
      return `meta.k8s.io/${params.get('v')}`;
    }
  }
  return undefined;
}

function rowObject(obj: KubeObject, includeObject: string, tableVersion: string): unknown {
  if (includeObject === 'None') return undefined;
  if (includeObject === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: tableVersion, metadata: obj.metadata };
}

/** A Table of objects of one kind; `headers: false` leaves columnDefinitions empty (later watch events). */
export function toTable(
  kind: string,
  objects: KubeObject[],
  options: { tableVersion: string; includeObject: string; resourceVersion: string; headers?: boolean },
): Record<string, unknown> {
  return {
    kind: 'Table',
    apiVersion: options.tableVersion,
    metadata: { resourceVersion: options.resourceVersion },
    columnDefinitions: options.headers === false ? [] : (columnsByKind[kind] ?? [nameCol, ageCol]),
    rows: objects.map((obj) => ({
      cells: cellsOf(obj),
      object: rowObject(obj, options.includeObject, options.tableVersion),
    })),
  };
}
