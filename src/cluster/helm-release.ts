import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import type { KubeApi } from './kube.ts';

/** A Helm 3 release as Helm stores it in Secret `sh.helm.release.v1.<release>.v<N>` (see PACHYDERM.md). */
const ReleaseSchema = z.object({
  name: z.string(),
  namespace: z.string().optional(),
  version: z.number(),
  info: z.object({ status: z.string() }).passthrough(),
  chart: z
    .object({
      metadata: z
        .object({ name: z.string(), version: z.string(), appVersion: z.string().optional() })
        .passthrough(),
    })
    .passthrough(),
  config: z.record(z.string(), z.unknown()).nullish(),
});

export interface HelmRelease {
  name: string;
  revision: number;
  chart: string;
  chartVersion: string;
  appVersion: string;
  /** The user-supplied values (what `helm get values` prints). */
  values: Record<string, unknown>;
}

/** Reads the deployed revision's values straight from the release secret: no helm binary needed. */
export async function readHelmRelease(kube: KubeApi, release: string): Promise<HelmRelease | undefined> {
  const secrets = await kube.listSecrets(`owner=helm,name=${release}`);
  const deployed = secrets
    .filter((s) => s.labels.status === 'deployed' && s.data.release)
    .sort((a, b) => Number(b.labels.version) - Number(a.labels.version))[0];
  if (!deployed) return undefined;
  const inner = Buffer.from(deployed.data.release, 'base64').toString('utf8');
  let bytes = Buffer.from(inner, 'base64');
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  const parsed = ReleaseSchema.parse(JSON.parse(bytes.toString('utf8')));
  return {
    name: parsed.name,
    revision: parsed.version,
    chart: parsed.chart.metadata.name,
    chartVersion: parsed.chart.metadata.version,
    appVersion: parsed.chart.metadata.appVersion ?? '',
    values: (parsed.config ?? {}) as Record<string, unknown>,
  };
}

/** pachd's version from its Deployment's image tag (`pachyderm/pachd:2.11.6` → `2.11.6`). */
export function versionFromImage(image: string | undefined): string {
  if (!image) return 'unknown';
  const tag = image.split('@')[0].split('/').pop()?.split(':')[1];
  return tag ?? 'unknown';
}
