/**
 * A parsed `workflow` node → a validated `WorkflowDefinition`, and the built-in default workflow.
 */
import { ConfigError, type Config } from '../config/config';
import { parseConfigText, type ReactorNode, type WorkflowNode } from '../config/config-format';
import { defineStep, WorkflowError } from './steps';
import type { ReactorDefinition, StepDefinition, WorkflowDefinition } from './workflow.types';

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
  const warnings: string[] = [];
  const steps: StepDefinition[] = node.steps.map((s) => defineStep(s, warnings));
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
  let routedByReactor = false;
  for (const flag of node.flags) {
    if (flag.key === 'routed_by_reactor') routedByReactor = true;
    else warnings.push(`line ${flag.line}, column ${flag.column}: workflow ${node.name}: unknown workflow argument '${flag.key}' ignored`);
  }
  return { name: node.name, steps, routedByReactor, warnings };
}

/** A `reactor` block: castline runs mmids' `simple_http` executor, which needs a `url`. */
export function defineReactor(node: ReactorNode): ReactorDefinition {
  const fail = (detail: string): never => {
    throw new WorkflowError(node.line, node.column, `reactor ${node.name}: ${detail}`);
  };
  if (node.executor !== 'simple_http') fail(`unknown executor '${node.executor}' (castline runs simple_http)`);
  const url = node.parameters.url?.trim() ?? '';
  if (url === '') fail('simple_http needs a `url` (`url http://host/path` inside the block)');
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    // reported below
  }
  if (parsed === null || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) fail(`url must be an http:// or https:// URL (got '${url}')`);
  return { name: node.name, url, updateIntervalSeconds: node.updateIntervalSeconds };
}

/** Every reactor a workflow's steps name. */
export function reactorsUsed(definition: WorkflowDefinition): Array<{ name: string; line: number }> {
  const out: Array<{ name: string; line: number }> = [];
  for (const step of definition.steps) {
    if ('reactor' in step.spec && step.spec.reactor !== null) out.push({ name: step.spec.reactor, line: step.line });
  }
  return out;
}

/** A `PUT /workflows` body: exactly one workflow, maybe reactors (applied) and settings (ignored, with a warning). */
export interface WorkflowText {
  workflow: WorkflowDefinition;
  reactors: ReactorDefinition[];
}

/** Parses a text that must hold exactly one workflow (a `PUT /workflows` body). */
export function parseSingleWorkflow(text: string): WorkflowDefinition {
  return parseWorkflowText(text).workflow;
}

export function parseWorkflowText(text: string): WorkflowText {
  const parsed = parseConfigText(text);
  if (parsed.workflows.length === 0) throw new WorkflowError(0, 0, 'no workflow in the body: expected exactly one `workflow NAME { ... }`');
  if (parsed.workflows.length > 1) {
    const second = parsed.workflows[1];
    throw new WorkflowError(second.line, second.column, `each request holds exactly one workflow, ${parsed.workflows.length} were given`);
  }
  const workflow = defineWorkflow(parsed.workflows[0]);
  for (const s of parsed.settings) {
    workflow.warnings.push(`line ${s.line}, column ${s.column}: setting '${s.name}' ignored: settings are read at start-up only`);
  }
  return { workflow, reactors: parsed.reactors.map(defineReactor) };
}

/** Several workflows (a reactor's answer); a text without any is valid (no workflows). */
export function parseWorkflowList(text: string): WorkflowDefinition[] {
  return parseConfigText(text).workflows.map(defineWorkflow);
}

/**
 * The config file's reactors and workflows, validated; a bad one (or a step naming a reactor that
 * is not defined) stops start-up naming the file, line and column.
 */
export function defineConfiguredWorkflows(file: Config['configFile']): { workflows: WorkflowDefinition[]; reactors: ReactorDefinition[] } {
  if (file === null) return { workflows: [], reactors: [] };
  const workflows: WorkflowDefinition[] = [];
  const reactors: ReactorDefinition[] = [];
  const problems: string[] = [];
  const attempt = (what: () => void) => {
    try {
      what();
    } catch (err) {
      if (!(err instanceof WorkflowError)) throw err;
      problems.push(`${file.path}: ${err.message}`);
    }
  };
  for (const node of file.reactors) attempt(() => reactors.push(defineReactor(node)));
  for (const node of file.workflows) attempt(() => workflows.push(defineWorkflow(node)));
  const known = new Set(file.reactors.map((r) => r.name));
  for (const workflow of workflows) {
    for (const used of reactorsUsed(workflow)) {
      if (!known.has(used.name)) problems.push(`${file.path}: line ${used.line}: workflow ${workflow.name}: no reactor named '${used.name}' is defined`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { workflows, reactors };
}
