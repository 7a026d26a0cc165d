/** The workflow part of a Coordinator's options for tests that use the built-in default workflow. */
import { silentLogger } from '../../src/logger';
import { WorkflowRegistry } from '../../src/workflows/registry';

export function defaultWorkflowOptions(hlsRoot = '/nonexistent') {
  const workflows = new WorkflowRegistry({ store: null, logger: silentLogger });
  workflows.load([]);
  return { workflows, steps: null, planContext: { hlsRoot, internal: null } };
}
