/** Rendering the chart for a test, and reaching into what it rendered. */
import type * as k8s from '@kubernetes/client-node';
import {
  buildRenderer,
  type Manifest,
  type Rendered,
  type RenderOptions,
  renderChart,
} from './helm-render.ts';

export const socketMode = { slack: { socketMode: true } };
export const withIngress = { ingress: { enabled: true, host: 'pachops.example.com', className: 'nginx' } };

export interface Chart {
  /** Renders (values over values.yaml, in order) and expects success. */
  render(...values: object[]): Manifest[];
  /** Renders and returns whatever happened. */
  run(values: object[], options?: RenderOptions): Rendered;
}

/** The renderer, built before the calling file's tests. */
export function useChart(): Chart {
  let binary = '';
  beforeAll(() => {
    binary = buildRenderer();
  }, 120_000);
  const run = (values: object[], options?: RenderOptions) => renderChart(binary, values, options);
  return {
    run,
    render(...values) {
      const result = run(values);
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
      return result.manifests;
    },
  };
}
export const objects = <T = Manifest['object']>(manifests: Manifest[], kind: string) =>
  manifests.filter((m) => m.object.kind === kind).map((m) => m.object as T);
export function only<T = Manifest['object']>(manifests: Manifest[], kind: string, name: string): T {
  const found = manifests.filter((m) => m.object.kind === kind && m.object.metadata.name === name);
  expect(found).toHaveLength(1);
  return found[0].object as T;
}
export const bot = (m: Manifest[]) => only<k8s.V1Deployment>(m, 'Deployment', 'pachops-bot');
export const worker = (m: Manifest[]) => only<k8s.V1Deployment>(m, 'Deployment', 'pachops-worker');
export const pod = (d: k8s.V1Deployment) => d.spec!.template.spec!;
export const container = (d: k8s.V1Deployment) => pod(d).containers[0];
export const envNames = (c: k8s.V1Container) => (c.env ?? []).map((e) => e.name);

/** The environment the container gets: literal values, and a placeholder for each secretKeyRef. */
export function containerEnv(c: k8s.V1Container): Record<string, string> {
  return Object.fromEntries(
    (c.env ?? []).map((e) => [
      e.name,
      e.valueFrom ? (e.name === 'SLACK_APP_TOKEN' ? 'xapp-placeholder' : 'placeholder') : (e.value ?? ''),
    ]),
  );
}
