/**
 * A parsed `workflow` node → a validated `WorkflowDefinition`, and the built-in default workflow.
 */
import { ConfigError, type Config } from '../config/config';
import { parseConfigText, type WorkflowNode } from '../config/config-format';
import { defineStep, WorkflowError } from './steps';
import type { StepDefinition, WorkflowDefinition } from './workflow.types';

/** castline's coordinator behaviour, used when no workflow is configured. */
export const DEFAULT_WORKFLOW_TEXT = `workflow live {
    rtmp_receive rtmp_app=* stream_key=*
    ws_receive channel=*
    verify_key
    hls_ladder
}
`;

const ONCE = ['verify_key', 'hls_ladder', 'rtmp_receive', 'ws_receive'] as const;

export function defineWorkflow(node: WorkflowNode): WorkflowDefinition {
  const steps: StepDefinition[] = node.steps.map((s) => defineStep(s));
  for (const type of ONCE) {
    const all = steps.filter((s) => s.type === type);
    if (all.length > 1) throw new WorkflowError(all[1].line, 1, `${type} may appear once per workflow (first on line ${all[0].line})`);
  }
  const ids = new Map<string, StepDefinition>();
  for (const step of steps) {
    const same = ids.get(step.id);
    if (same !== undefined) throw new WorkflowError(step.line, 1, `the same step is written twice (lines ${same.line} and ${step.line})`);
    ids.set(step.id, step);
  }
  const verify = steps.findIndex((s) => s.type === 'verify_key');
  const ladder = steps.findIndex((s) => s.type === 'hls_ladder');
  if (verify >= 0 && ladder >= 0 && verify > ladder) {
    throw new WorkflowError(steps[verify].line, 1, 'verify_key must come before hls_ladder (its answer configures the ladder)');
  }
  for (const flag of node.flags) {
    throw new WorkflowError(flag.line, flag.column, `workflow ${node.name}: unknown workflow argument '${flag.key}'`);
  }
  return { name: node.name, steps };
}

/** Parses a text that must hold exactly one workflow (a `PUT /workflows` body). */
export function parseSingleWorkflow(text: string): WorkflowDefinition {
  const parsed = parseConfigText(text);
  if (parsed.workflows.length === 0) throw new WorkflowError(0, 0, 'no workflow in the body: expected exactly one `workflow NAME { ... }`');
  if (parsed.workflows.length > 1) {
    const second = parsed.workflows[1];
    throw new WorkflowError(second.line, second.column, `each request holds exactly one workflow, ${parsed.workflows.length} were given`);
  }
  if (parsed.settings.length > 0) {
    const s = parsed.settings[0];
    throw new WorkflowError(s.line, s.column, 'settings cannot be changed over the API; send only the workflow');
  }
  if (parsed.reactors.length > 0) {
    const r = parsed.reactors[0];
    throw new WorkflowError(r.line, r.column, 'reactors are not supported');
  }
  return defineWorkflow(parsed.workflows[0]);
}

/** The config file's workflows, validated; a bad one stops start-up naming the file, line and column. */
export function defineConfiguredWorkflows(file: Config['configFile']): WorkflowDefinition[] {
  if (file === null) return [];
  const out: WorkflowDefinition[] = [];
  const problems: string[] = [];
  for (const node of file.workflows) {
    try {
      out.push(defineWorkflow(node));
    } catch (err) {
      if (!(err instanceof WorkflowError)) throw err;
      problems.push(`${file.path}: ${err.message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}
