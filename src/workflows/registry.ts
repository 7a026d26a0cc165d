/**
 * The workflow registry: every running workflow by name, the routing of a publish to the workflow
 * that owns it (its ingest step), and the changes made over the API (validated synchronously,
 * persisted, then announced to the coordinator as `changed`).
 *
 * Routing: the most specific ingest claim wins (exact app and key > exact app > exact key > any);
 * two workflows may not claim exactly the same thing.
 */
import { EventEmitter } from 'node:events';
import type { IngestType } from '../domain/stream';
import type { Logger } from '../logging/logger';
import { allowlistContains, parseAllowlist, parseIp, type IpAllowlist } from '../net/ip';
import { DEFAULT_WORKFLOW_TEXT, parseSingleWorkflow } from './definition';
import { WorkflowError } from './steps';
import type { WorkflowStore } from './store';
import type { IpFilter, StepSpec, WorkflowDefinition } from './workflow.types';

export interface RegistryEvents {
  /** A workflow was created (previous null), updated, or deleted (next null). */
  changed: [previous: WorkflowDefinition | null, next: WorkflowDefinition | null];
}

export type RouteResult =
  | { ok: true; workflow: WorkflowDefinition }
  | { ok: false; reason: 'no-workflow' | 'ip-denied'; message: string };

/**
 * Cluster mode: where changes made over this node's API go (the cluster's store, from which every
 * node applies them with `applyShared`). Called after the change was applied here.
 */
export interface WorkflowChangeSink {
  upserted(name: string, text: string): void;
  deleted(name: string): void;
}

interface Claim {
  kind: 'rtmp' | 'ws';
  app: string;
  key: string;
}

export class WorkflowRegistry extends EventEmitter<RegistryEvents> {
  readonly #workflows = new Map<string, WorkflowDefinition>();
  readonly #store: WorkflowStore | null;
  readonly #changes = { upserts: {} as Record<string, string>, deleted: [] as string[] };
  readonly #log: Logger;

  readonly #rtmp: boolean;
  readonly #shared: WorkflowChangeSink | null;

  /**
   * `rtmp`: the RTMP server runs (ffmpeg_pull, ffmpeg_transcode and rtmp_watch publish into it). Default true.
   * `shared`: cluster mode, the changes also go there.
   */
  constructor(options: { store: WorkflowStore | null; logger: Logger; rtmp?: boolean; shared?: WorkflowChangeSink }) {
    super();
    this.#store = options.store;
    this.#shared = options.shared ?? null;
    this.#log = options.logger;
    this.#rtmp = options.rtmp ?? true;
  }

  /**
   * Start-up: the config file's workflows (or the built-in default when there are none), then the
   * changes saved from the API. A saved workflow that no longer validates is skipped with an error log.
   */
  load(configured: WorkflowDefinition[]): void {
    const initial = configured.length > 0 ? configured : [parseSingleWorkflow(DEFAULT_WORKFLOW_TEXT)];
    for (const definition of initial) {
      if (configured.length > 0) this.#checkConflicts(definition);
      this.#put(definition);
    }
    if (this.#store === null) return;
    const saved = this.#store.load();
    Object.assign(this.#changes.upserts, saved.upserts);
    this.#changes.deleted.push(...saved.deleted);
    for (const name of saved.deleted) this.#remove(name);
    for (const [name, text] of Object.entries(saved.upserts)) {
      try {
        const definition = parseSingleWorkflow(text);
        this.#checkConflicts(definition);
        this.#put(definition);
      } catch (err) {
        this.#log.error({ workflow: name, err: (err as Error).message }, 'saved workflow no longer valid: skipped');
      }
    }
  }

  list(): Array<{ name: string }> {
    return [...this.#workflows.keys()].sort().map((name) => ({ name }));
  }

  get(name: string): WorkflowDefinition | undefined {
    return this.#workflows.get(name);
  }

  all(): WorkflowDefinition[] {
    return [...this.#workflows.values()];
  }

  /**
   * Creates or replaces the workflow the text defines. Throws a WorkflowError (→ 400) and changes
   * nothing when the text is invalid or its ingest claims conflict with another workflow.
   */
  upsert(text: string): { definition: WorkflowDefinition; created: boolean } {
    const definition = parseSingleWorkflow(text);
    this.#checkConflicts(definition);
    const previous = this.#workflows.get(definition.name) ?? null;
    this.#changes.upserts[definition.name] = text;
    this.#changes.deleted = this.#changes.deleted.filter((n) => n !== definition.name);
    this.#store?.save(this.#changes);
    this.#put(definition);
    this.emit('changed', previous, definition);
    this.#shared?.upserted(definition.name, text);
    return { definition, created: previous === null };
  }

  /** Stops a workflow; false when there was none. */
  delete(name: string): boolean {
    const previous = this.#workflows.get(name);
    if (previous === undefined) return false;
    delete this.#changes.upserts[name];
    if (!this.#changes.deleted.includes(name)) this.#changes.deleted.push(name);
    this.#store?.save(this.#changes);
    this.#remove(name);
    this.emit('changed', previous, null);
    this.#shared?.deleted(name);
    return true;
  }

  /**
   * Cluster mode: a change another node made (or one made before this node started), from the
   * cluster's store: `text` null = deleted. Applied like a local change, without sending it back.
   * An unchanged workflow is left alone; one that does not validate here is skipped with an error log.
   */
  applyShared(name: string, text: string | null): void {
    const previous = this.#workflows.get(name) ?? null;
    if (text === null) {
      if (previous === null) return;
      this.#remove(name);
      this.emit('changed', previous, null);
      return;
    }
    if (this.#changes.upserts[name] === text && previous !== null) return;
    try {
      const definition = parseSingleWorkflow(text);
      if (definition.name !== name) throw new Error(`the text defines workflow ${definition.name}`);
      this.#checkConflicts(definition);
      this.#changes.upserts[name] = text;
      this.#put(definition);
      this.emit('changed', previous, definition);
    } catch (err) {
      this.#log.error({ workflow: name, err: (err as Error).message }, 'workflow from the cluster not valid on this node: skipped');
    }
  }

  /** The workflow that owns a publish, or why none does. */
  route(ingest: IngestType, channel: string, key: string, ip: string): RouteResult {
    let best: { workflow: WorkflowDefinition; score: number; filter: IpFilter | null } | null = null;
    for (const workflow of this.#workflows.values()) {
      for (const step of workflow.steps) {
        const score = matchScore(step.spec, ingest, channel, key);
        if (score >= 0 && (best === null || score > best.score)) {
          best = { workflow, score, filter: 'ipFilter' in step.spec ? step.spec.ipFilter : null };
        }
      }
    }
    if (best === null) return { ok: false, reason: 'no-workflow', message: `no workflow receives ${ingest} publishes on ${channel}` };
    if (best.filter !== null && !ipAllowed(best.filter, ip)) {
      return { ok: false, reason: 'ip-denied', message: `workflow ${best.workflow.name} does not accept publishers from ${ip}` };
    }
    return { ok: true, workflow: best.workflow };
  }

  #put(definition: WorkflowDefinition): void {
    this.#workflows.set(definition.name, definition);
  }

  #remove(name: string): void {
    this.#workflows.delete(name);
  }

  #checkConflicts(definition: WorkflowDefinition): void {
    for (const step of definition.steps) {
      if (!this.#rtmp && NEEDS_RTMP.has(step.type)) {
        throw new WorkflowError(step.line, 1, `${step.type} needs castline's RTMP server, which is off (RTMP_ENABLED=false)`);
      }
      const claim = claimOf(step.spec);
      if (claim === null) continue;
      for (const other of this.#workflows.values()) {
        if (other.name === definition.name) continue;
        for (const theirs of other.steps) {
          const c = claimOf(theirs.spec);
          if (c !== null && c.kind === claim.kind && c.app === claim.app && c.key === claim.key) {
            throw new WorkflowError(step.line, 1, `${step.type} conflicts with workflow ${other.name}, which already receives the same publishes`);
          }
        }
      }
    }
  }
}

const NEEDS_RTMP = new Set(['rtmp_receive', 'ffmpeg_pull', 'ffmpeg_transcode', 'rtmp_watch']);

function claimOf(spec: StepSpec): Claim | null {
  if (spec.type === 'rtmp_receive') return { kind: 'rtmp', app: spec.rtmpApp, key: spec.streamKey };
  if (spec.type === 'ws_receive') return { kind: 'ws', app: spec.channel, key: '*' };
  if (spec.type === 'ffmpeg_pull') return { kind: 'rtmp', app: `pull-${spec.streamName}`, key: '*' };
  return null;
}

/** How specifically an ingest step matches a publish: -1 not at all; higher wins. */
function matchScore(spec: StepSpec, ingest: IngestType, channel: string, key: string): number {
  if (ingest === 'RTMP' && spec.type === 'rtmp_receive') {
    const app = spec.rtmpApp === '*' ? 0 : spec.rtmpApp === channel ? 2 : -1;
    const k = spec.streamKey === '*' ? 0 : spec.streamKey === key ? 1 : -1;
    return app < 0 || k < 0 ? -1 : app + k;
  }
  if (ingest === 'WS' && spec.type === 'ws_receive') {
    return spec.channel === '*' ? 0 : spec.channel === channel ? 2 : -1;
  }
  return -1;
}

/** Parsed `allow_ips`/`deny_ips` lists, by their text: parsed once, not on every publish. */
const parsedLists = new Map<string, IpAllowlist>();

function ipAllowed(filter: IpFilter, ip: string): boolean {
  const parsed = parseIp(ip);
  if (parsed === null) return filter.mode === 'deny';
  let list = parsedLists.get(filter.list);
  if (list === undefined) parsedLists.set(filter.list, (list = parseAllowlist(filter.list)));
  const listed = allowlistContains(list, parsed);
  return filter.mode === 'allow' ? listed : !listed;
}
