/** The workflow part of a Coordinator's options for tests that use the built-in default workflow (the real registry and router). */
import { silentLogger } from '../../src/logging/logger';
import { WorkflowRegistry } from '../../src/workflows/registry';
import { SessionRouter } from '../../src/workflows/session-router';

export function defaultWorkflowOptions(hlsRoot = '/nonexistent') {
  const registry = new WorkflowRegistry({ store: null, logger: silentLogger });
  registry.load([]);
  return { workflows: new SessionRouter(registry, { hlsRoot, internal: null }), steps: null };
}
