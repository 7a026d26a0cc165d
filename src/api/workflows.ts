/**
 * The operator API of docs/spec/workflows-api.md: `GET /workflows`, `GET /workflows/{name}`,
 * `PUT /workflows` (body in the config format, exactly one workflow), `DELETE /workflows/{name}`.
 * Unlike the reference, a PUT is validated completely before anything changes: a bad body is a 400
 * naming the line and column, and the running workflow stays as it was.
 */
import { ConfigSyntaxError } from '../config/config-format';
import type { WorkflowRegistry } from '../workflows/registry';
import { WorkflowError } from '../workflows/steps';
import type { WorkflowDefinition } from '../workflows/workflow.types';
import type { Route } from './api.types';
import { errorResponse, json } from './json';

/** What the details need from the coordinator: the workflow's live streams and their steps. */
export interface WorkflowStreams {
  workflowStreams(workflow: string): Array<{ channel: string; streamId: string; steps: Array<{ step_id: string; status: string }> }>;
}

const CONTENT_TYPES = new Set(['', 'text/plain', 'application/vnd.mmids.workflow', 'application/vnd.castline.workflow']);

export function workflowRoutes(registry: WorkflowRegistry, streams: WorkflowStreams): Route[] {
  return [
    { method: 'GET', pattern: '/workflows', auth: false, headers: [], handler: () => json(200, registry.list() as unknown as object) },
    {
      method: 'GET',
      pattern: '/workflows/:name',
      auth: false,
      headers: [],
      handler: (req) => {
        const definition = registry.get(req.params.name);
        if (definition === undefined) return errorResponse('NOT_FOUND', `no workflow named ${req.params.name}`);
        return json(200, { ...details(definition, streams), reactor_managed: registry.managedBy(definition.name) !== null, reactor: registry.managedBy(definition.name) });
      },
    },
    {
      method: 'PUT',
      pattern: '/workflows',
      auth: true,
      headers: ['content-type'],
      handler: (req) => {
        const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
        if (!CONTENT_TYPES.has(type)) {
          return errorResponse('BAD_REQUEST', `Content-Type ${type} is not accepted: send the workflow as text/plain or application/vnd.mmids.workflow`);
        }
        const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
        let body: string;
        try {
          body = text.decode(req.body);
        } catch {
          return errorResponse('BAD_REQUEST', 'the body is not valid UTF-8');
        }
        try {
          const { definition, created } = registry.upsert(body);
          return json(200, { name: definition.name, created, warnings: definition.warnings, ...details(definition, streams) });
        } catch (err) {
          if (err instanceof ConfigSyntaxError || err instanceof WorkflowError) {
            return json(400, { error: err.message, code: 'BAD_REQUEST', line: err.line, column: err.column });
          }
          throw err;
        }
      },
    },
    {
      method: 'DELETE',
      pattern: '/workflows/:name',
      auth: true,
      headers: [],
      handler: (req) => json(200, { name: req.params.name, deleted: registry.delete(req.params.name) }),
    },
  ];
}

/**
 * A workflow is validated and applied at once, so its steps are all active (`pending_steps` stays
 * empty). Steps run per stream: a step shows `Error: …` while one of its live instances failed
 * (the stream is named); the per-stream states are under `streams`.
 */
export function details(definition: WorkflowDefinition, streams: WorkflowStreams): object {
  const live = streams.workflowStreams(definition.name);
  const stepStatus = (id: string): string => {
    for (const stream of live) {
      const failed = stream.steps.find((s) => s.step_id === id && s.status.startsWith('Error'));
      if (failed !== undefined) return `${failed.status} (stream ${stream.streamId})`;
    }
    return 'Active';
  };
  return {
    status: 'Running',
    active_steps: definition.steps.map((s) => ({ step_id: s.id, step_type: s.written, parameters: s.parameters, status: stepStatus(s.id) })),
    pending_steps: [],
    streams: live,
  };
}
