/** Label and field selectors, parsed as kube-apiserver parses them. */
import { badRequest } from './status.ts';
import type { KubeObject, StringMap } from './types.ts';

type Requirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!exists' };

export type Selector = (labels: StringMap | undefined) => boolean;

const keyPattern =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const valuePattern = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Splits on commas that are not inside `( … )`. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else current += ch;
  }
  terms.push(current);
  return terms.map((t) => t.trim()).filter((t) => t !== '');
}

function parseTerm(term: string): Requirement {
  const setMatch = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
  if (setMatch) {
    const values = setMatch[3].split(',').map((v) => v.trim());
    return {
      key: checkKey(setMatch[1], term),
      op: setMatch[2] as 'in' | 'notin',
      values: values.map((v) => checkValue(v, term)),
    };
  }
  const opMatch = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
  if (opMatch) {
    const op = opMatch[2] === '!=' ? 'notin' : 'in';
    return { key: checkKey(opMatch[1], term), op, values: [checkValue(opMatch[3].trim(), term)] };
  }
  if (term.startsWith('!')) return { key: checkKey(term.slice(1).trim(), term), op: '!exists' };
  return { key: checkKey(term, term), op: 'exists' };
}

function checkKey(key: string, term: string): string {
  if (!keyPattern.test(key)) {
    throw badRequest(`unable to parse requirement: invalid label key "${key}" in "${term}"`);
  }
  return key;
}

function checkValue(value: string, term: string): string {
  if (value.length > 63 || !valuePattern.test(value)) {
    throw badRequest(`unable to parse requirement: invalid label value: "${value}" in "${term}"`);
  }
  return value;
}

function matches(req: Requirement, labels: StringMap): boolean {
  const has = Object.hasOwn(labels, req.key);
  switch (req.op) {
    case 'exists':
      return has;
    case '!exists':
      return !has;
    case 'in':
      return has && req.values.includes(labels[req.key]);
    case 'notin':
      return !has || !req.values.includes(labels[req.key]);
  }
}

/** Parses a `labelSelector` query value; empty or absent matches everything. Throws 400 when malformed. */
export function parseLabelSelector(selector: string | null | undefined): Selector {
  const requirements = splitTerms(selector ?? '').map(parseTerm);
  return (labels) => requirements.every((req) => matches(req, labels ?? {}));
}

/** The `selector` of a Deployment (matchLabels/matchExpressions) or an RC (plain map) as a function. */
export function selectorOfWorkload(selector: unknown): Selector {
  const sel = (selector ?? {}) as { matchLabels?: StringMap; matchExpressions?: unknown[] } & Record<
    string,
    unknown
  >;
  if (sel.matchLabels || sel.matchExpressions) {
    const reqs: Requirement[] = Object.entries(sel.matchLabels ?? {}).map(([key, v]) => ({
      key,
      op: 'in',
      values: [v],
    }));
    for (const raw of (sel.matchExpressions ?? []) as {
      key: string;
      operator: string;
      values?: string[];
    }[]) {
      const op = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!exists' }[raw.operator];
      if (op === 'in' || op === 'notin') reqs.push({ key: raw.key, op, values: raw.values ?? [] });
      else if (op === 'exists' || op === '!exists') reqs.push({ key: raw.key, op });
    }
    return (labels) => reqs.every((req) => matches(req, labels ?? {}));
  }
  const plain = sel as StringMap;
  return (labels) => Object.entries(plain).every(([k, v]) => labels?.[k] === v);
}

/** `app=pachd,suite=pachyderm`: the form Scale.status.selector and kubectl print. */
export function formatSelector(selector: unknown): string {
  const sel = (selector ?? {}) as { matchLabels?: StringMap; matchExpressions?: unknown[] } & Record<
    string,
    unknown
  >;
  const map = sel.matchLabels || sel.matchExpressions ? (sel.matchLabels ?? {}) : (sel as StringMap);
  return Object.keys(map)
    .sort()
    .map((k) => `${k}=${map[k]}`)
    .join(',');
}

type FieldGetter = (obj: KubeObject) => string | undefined;

const commonFields: Record<string, FieldGetter> = {
  'metadata.name': (o) => o.metadata.name,
  'metadata.namespace': (o) => o.metadata.namespace,
};

const fieldsByKind: Record<string, Record<string, FieldGetter>> = {
  Pod: {
    'spec.nodeName': (o) => (o.spec as { nodeName?: string } | undefined)?.nodeName ?? '',
    'status.phase': (o) => (o.status as { phase?: string } | undefined)?.phase ?? '',
    'spec.restartPolicy': (o) => (o.spec as { restartPolicy?: string } | undefined)?.restartPolicy ?? '',
  },
  Secret: { type: (o) => (o as { type?: string }).type ?? '' },
  Event: Object.fromEntries(
    ['name', 'namespace', 'kind', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'].map((f) => [
      `involvedObject.${f}`,
      (o: KubeObject) => String((o.involvedObject as Record<string, unknown> | undefined)?.[f] ?? ''),
    ]),
  ),
  ReplicationController: {
    'status.replicas': (o) => String((o.status as { replicas?: number })?.replicas ?? 0),
  },
};

/** Parses a `fieldSelector`; unknown fields are a 400, as on the real apiserver. */
export function parseFieldSelector(
  selector: string | null | undefined,
  kind: string,
): (obj: KubeObject) => boolean {
  const getters = { ...commonFields, ...(fieldsByKind[kind] ?? {}) };
  const tests = splitTerms(selector ?? '').map((term) => {
    const m = /^([^=!]+)(==|=|!=)(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    const [, field, op, value] = m;
    const get = getters[field.trim()];
    if (!get) throw badRequest(`field label not supported: ${field.trim()}`);
    return (obj: KubeObject) => (get(obj) === value.trim()) === (op !== '!=');
  });
  return (obj) => tests.every((t) => t(obj));
}
