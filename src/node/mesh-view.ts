// The mesh as this node sees it (src/inspect), from setup to the stop: it reads the local agent
// and the node's Envoys, shows in /status, /metrics and the page, and adds to the timeline.
import { MeshInspector } from '../inspect/index.ts';
import { secretValues } from '../spec/index.ts';
import type { RunningNode } from './context.ts';

export function watchMesh(node: RunningNode): MeshInspector {
  const { board, deps, ending, current } = node;
  const inspector = new MeshInspector({
    consul: node.client,
    envoy: deps.envoyReader,
    secrets: () => secretValues(node.spec()),
    onEvent: (message) => board.event(message),
    signal: ending.signal,
  });
  inspector.setTargets(current.plan.mesh);
  board.setMeshView((fresh) => inspector.view(fresh));
  node.mesh = inspector;
  return inspector;
}
