/** The three patch types kube-apiserver accepts for built-in resources. */
import { ApiError, badRequest, unsupportedMediaType } from './status.ts';

type Json = unknown;
type JsonObject = Record<string, unknown>;

export const patchTypes = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
] as const;

export type PatchType = (typeof patchTypes)[number];

function isObject(value: Json): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The media type of a PATCH, or 415 as the apiserver answers (apply-patch+yaml is not implemented). */
export function patchTypeOf(contentType: string | undefined): PatchType {
  const mediaType = (contentType ?? '').split(';')[0].trim().toLowerCase();
  const found = patchTypes.find((t) => t === mediaType);
  if (!found) throw unsupportedMediaType(contentType ?? '', [...patchTypes]);
  return found;
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/**
 * Lists whose items strategic merge patch merges by a key (from k8s.io/api's patchMergeKey tags);
 * every other list is replaced whole, as on the server.
 */
const mergeKeys: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  ports: 'containerPort',
  imagePullSecrets: 'name',
  conditions: 'type',
  ownerReferences: 'uid',
  tolerations: 'key',
  hostAliases: 'ip',
};

function mergeList(field: string, target: Json, patch: unknown[]): Json {
  const key = mergeKeys[field];
  if (!key || !Array.isArray(target))
    return structuredClone(patch.filter((p) => !isObject(p) || !('$patch' in p)));
  const result = target.map((item) => structuredClone(item));
  for (const item of patch) {
    if (!isObject(item)) continue;
    const index = result.findIndex((existing) => isObject(existing) && existing[key] === item[key]);
    if (item.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
      continue;
    }
    if (index >= 0) result[index] = strategicMergePatch(result[index], item);
    else result.push(strategicMergePatch({}, item));
  }
  return result;
}

/** Strategic merge patch for the built-in types: merge patch plus keyed lists and `$patch` directives. */
export function strategicMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _, ...rest } = patch;
    return structuredClone(rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key.startsWith('$setElementOrder/') || key === '$retainKeys') continue;
    if (value === null) delete result[key];
    else if (Array.isArray(value)) result[key] = mergeList(key, result[key], value);
    else {
      const merged = strategicMergePatch(result[key], value);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    }
  }
  return result;
}

interface JsonPatchOp {
  op: string;
  path: string;
  value?: Json;
  from?: string;
}

/** A patch that decodes but does not apply is a 422 with an empty reason, as on the server. */
function applyFailed(message: string): ApiError {
  return new ApiError(422, '', message);
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw applyFailed(`JSON pointer must be empty or start with a "/": ${path}`);
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(
  doc: Json,
  parts: string[],
  path: string,
): { parent: JsonObject | unknown[]; last: string } {
  let node: Json = doc;
  for (const part of parts.slice(0, -1)) {
    node = Array.isArray(node) ? node[Number(part)] : isObject(node) ? node[part] : undefined;
    if (node === undefined) throw applyFailed(`jsonpatch: missing value at ${path}`);
  }
  if (!isObject(node) && !Array.isArray(node)) throw applyFailed(`jsonpatch: missing value at ${path}`);
  return { parent: node, last: parts[parts.length - 1] };
}

function getAt(doc: Json, path: string): Json {
  let node: Json = doc;
  for (const part of pointer(path))
    node = Array.isArray(node) ? node[Number(part)] : isObject(node) ? node[part] : undefined;
  if (node === undefined) throw applyFailed(`jsonpatch: missing value at ${path}`);
  return node;
}

function removeAt(doc: Json, path: string): void {
  const { parent, last } = parentOf(doc, pointer(path), path);
  if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else if (last in parent) delete parent[last];
  else throw applyFailed(`jsonpatch remove operation does not apply: doc is missing key: ${path}`);
}

function addAt(doc: Json, path: string, value: Json, replace: boolean): Json {
  const parts = pointer(path);
  if (parts.length === 0) return structuredClone(value);
  const { parent, last } = parentOf(doc, parts, path);
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    parent.splice(index, replace ? 1 : 0, structuredClone(value));
  } else {
    if (replace && !(last in parent))
      throw applyFailed(`jsonpatch replace operation does not apply: doc is missing key: ${path}`);
    parent[last] = structuredClone(value);
  }
  return doc;
}

/** RFC 6902 JSON patch; the body must be an array of operations (400 otherwise, as on the server). */
export function jsonPatch(target: Json, patch: Json): Json {
  if (!Array.isArray(patch))
    throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc = structuredClone(target);
  for (const op of patch as JsonPatchOp[]) {
    switch (op.op) {
      case 'add':
        doc = addAt(doc, op.path, op.value, false);
        break;
      case 'replace':
        doc = addAt(doc, op.path, op.value, true);
        break;
      case 'remove':
        removeAt(doc, op.path);
        break;
      case 'test':
        if (JSON.stringify(getAt(doc, op.path)) !== JSON.stringify(op.value)) {
          throw applyFailed(`testing value ${op.path} failed`);
        }
        break;
      case 'copy':
        doc = addAt(doc, op.path, getAt(doc, op.from ?? ''), false);
        break;
      case 'move': {
        const value = getAt(doc, op.from ?? '');
        removeAt(doc, op.from ?? '');
        doc = addAt(doc, op.path, value, false);
        break;
      }
      default:
        throw applyFailed(`Unexpected kind: ${op.op}`);
    }
  }
  return doc;
}

export function applyPatch(type: PatchType, target: Json, patch: Json): Json {
  switch (type) {
    case 'application/json-patch+json':
      return jsonPatch(target, patch);
    case 'application/merge-patch+json':
      if (!isObject(patch))
        throw badRequest('json: cannot unmarshal array into Go value of type map[string]interface {}');
      return mergePatch(target, patch);
    case 'application/strategic-merge-patch+json':
      if (!isObject(patch))
        throw badRequest('json: cannot unmarshal array into Go value of type map[string]interface {}');
      return strategicMergePatch(target, patch);
  }
}
