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
import { DEFAULT_WORKFLOW_TEXT, parseSingleWorkflow, parseWorkflowText, reactorsUsed } from './definition';
import { listenerKey, type ListenerDefaults } from './listeners';
import { WorkflowError } from './steps';
import type { WorkflowStore } from './store';
import type { IpFilter, ReactorDefinition, StepDefinition, StepSpec, WorkflowDefinition } from './workflow.types';

export interface RegistryEvents {
  /** A workflow was created (previous null), updated, or deleted (next null). */
  changed: [previous: WorkflowDefinition | null, next: WorkflowDefinition | null];
}

export type RouteResult =
  | { ok: true; workflow: WorkflowDefinition; step: StepDefinition }
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
  /** `rtmp` (the default listener), `ws`, or an RTMP listener of its own. */
  kind: string;
  app: string;
  key: string;
}

export class WorkflowRegistry extends EventEmitter<RegistryEvents> {
  readonly #workflows = new Map<string, WorkflowDefinition>();
  readonly #store: WorkflowStore | null;
  readonly #changes = { upserts: {} as Record<string, string>, deleted: [] as string[] };
  readonly #log: Logger;

  readonly #rtmp: boolean;
  readonly #listeners: ListenerDefaults;
  readonly #reactors = new Map<string, ReactorDefinition>();
  /** Workflows a reactor created: by workflow name, the reactor and the streams (leases) holding it. */
  readonly #managed = new Map<string, { reactor: string; holders: Set<string> }>();
  readonly #tls: boolean;
  readonly #shared: WorkflowChangeSink | null;

  /**
   * `rtmp`: the RTMP server runs (ffmpeg_pull, ffmpeg_transcode and rtmp_watch publish into it). Default true.
   * `listeners`: the default RTMP and RTMPS ports (which listener a step without `port=` uses).
   * `shared`: cluster mode, the changes also go there.
   */
  constructor(options: { store: WorkflowStore | null; logger: Logger; rtmp?: boolean; listeners?: ListenerDefaults; tls?: boolean; shared?: WorkflowChangeSink }) {
    super();
    this.#tls = options.tls ?? false;
    this.#store = options.store;
    this.#shared = options.shared ?? null;
    this.#log = options.logger;
    this.#rtmp = options.rtmp ?? true;
    this.#listeners = options.listeners ?? { rtmpPort: 1935, rtmpsPort: 443 };
  }

  /**
   * Start-up: the config file's reactors and workflows (or the built-in default when there are none), then the
   * changes saved from the API. A saved workflow that no longer validates is skipped with an error log.
   */
  load(configured: WorkflowDefinition[], reactors: ReactorDefinition[] = []): void {
    for (const reactor of reactors) this.#reactors.set(reactor.name, reactor);
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
        const parsed = parseWorkflowText(text);
        for (const reactor of parsed.reactors) this.#reactors.set(reactor.name, reactor);
        const definition = parsed.workflow;
        this.#checkConflicts(definition);
        this.#put(definition);
      } catch (err) {
        this.#log.error({ workflow: name, err: (err as Error).message }, 'saved workflow no longer valid: skipped');
      }
    }
  }

  /** The reactor named so (from the config file or a PUT body). */
  reactor(name: string): ReactorDefinition | undefined {
    return this.#reactors.get(name);
  }

  /** The reactor that created this workflow; null for a configured or API workflow. */
  managedBy(name: string): string | null {
    return this.#managed.get(name)?.reactor ?? null;
  }

  /** The listener key (`rtmp:1935`, `rtmps:443`, …) of every RTMP listener some step uses, and the default one. */
  rtmpListeners(): Set<string> {
    const keys = new Set([listenerKey({ port: null, tls: false }, this.#listeners)]);
    for (const workflow of this.#workflows.values()) {
      for (const step of workflow.steps) {
        if (step.spec.type === 'rtmp_receive' || step.spec.type === 'rtmp_watch') keys.add(listenerKey(step.spec.listener, this.#listeners));
      }
    }
    return keys;
  }

  /**
   * A reactor's answer puts this workflow in place for `holder` (one stream's question). Unchanged
   * → only the holder is added; changed → replaced (sessions re-planned). A configured or API
   * workflow of the same name, or one whose ingest conflicts, is not touched (false, logged).
   */
  putManaged(definition: WorkflowDefinition, reactor: string, holder: string): boolean {
    const existing = this.#workflows.get(definition.name);
    const managed = this.#managed.get(definition.name);
    if (existing !== undefined && managed === undefined) {
      this.#log.warn({ workflow: definition.name, reactor }, 'a reactor answered with the name of a configured workflow: ignored');
      return false;
    }
    try {
      this.#checkConflicts(definition);
    } catch (err) {
      this.#log.warn({ workflow: definition.name, reactor, err: (err as Error).message }, 'reactor workflow refused');
      return false;
    }
    if (managed === undefined) this.#managed.set(definition.name, { reactor, holders: new Set([holder]) });
    else managed.holders.add(holder);
    if (existing !== undefined && signature(existing) === signature(definition)) return true;
    this.#put(definition);
    this.emit('changed', existing ?? null, definition);
    return true;
  }

  /** `holder` no longer needs the reactor workflow: stopped when no stream holds it. */
  releaseManaged(name: string, holder: string): void {
    const managed = this.#managed.get(name);
    if (managed === undefined || !managed.holders.delete(holder) || managed.holders.size > 0) return;
    this.#managed.delete(name);
    const previous = this.#workflows.get(name);
    if (previous === undefined) return;
    this.#remove(name);
    this.#log.info({ workflow: name, reactor: managed.reactor }, 'reactor workflow removed: no stream holds it');
    this.emit('changed', previous, null);
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
    const parsed = parseWorkflowText(text);
    const definition = parsed.workflow;
    const given = new Map(parsed.reactors.map((r) => [r.name, r]));
    for (const used of reactorsUsed(definition)) {
      if (!given.has(used.name) && !this.#reactors.has(used.name)) throw new WorkflowError(used.line, 1, `no reactor named '${used.name}' is defined (define it in the config file or in this body)`);
    }
    this.#checkConflicts(definition);
    for (const reactor of parsed.reactors) this.#reactors.set(reactor.name, reactor);
    // A reactor's workflow changed over the API stays the reactor's: its next answer may change it back (mmids).
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
    this.#managed.delete(name);
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
      const parsed = parseWorkflowText(text);
      const definition = parsed.workflow;
      if (definition.name !== name) throw new Error(`the text defines workflow ${definition.name}`);
      this.#checkConflicts(definition);
      for (const reactor of parsed.reactors) this.#reactors.set(reactor.name, reactor);
      this.#changes.upserts[name] = text;
      this.#put(definition);
      this.emit('changed', previous, definition);
    } catch (err) {
      this.#log.error({ workflow: name, err: (err as Error).message }, 'workflow from the cluster not valid on this node: skipped');
    }
  }

  /**
   * The workflow that owns a publish, or why none does. `listener`: the RTMP listener it came in on
   * (`listenerKey`); absent = the default RTMP listener.
   */
  route(ingest: IngestType, channel: string, key: string, ip: string, listener?: string): RouteResult {
    const on = listener ?? listenerKey({ port: null, tls: false }, this.#listeners);
    let best: { workflow: WorkflowDefinition; step: StepDefinition; score: number; filter: IpFilter | null } | null = null;
    for (const workflow of this.#workflows.values()) {
      for (const step of workflow.steps) {
        if (step.spec.type === 'rtmp_receive' && listenerKey(step.spec.listener, this.#listeners) !== on) continue;
        const score = matchScore(step.spec, ingest, channel, key);
        if (score >= 0 && (best === null || score > best.score)) {
          best = { workflow, step, score, filter: 'ipFilter' in step.spec ? step.spec.ipFilter : null };
        }
      }
    }
    if (best === null) return { ok: false, reason: 'no-workflow', message: `no workflow receives ${ingest} publishes on ${channel}` };
    if (best.filter !== null && !ipAllowed(best.filter, ip)) {
      return { ok: false, reason: 'ip-denied', message: `workflow ${best.workflow.name} does not accept publishers from ${ip}` };
    }
    return { ok: true, workflow: best.workflow, step: best.step };
  }

  /**
   * The `rtmp_watch` step that rules players of `{app}/{key}`, with its workflow: one with a
   * reactor first (it decides whether the path may be watched at all), then the most specific key.
   */
  watchStep(app: string, key: string): { workflow: WorkflowDefinition; step: StepDefinition; spec: Extract<StepSpec, { type: 'rtmp_watch' }> } | null {
    let best: { workflow: WorkflowDefinition; step: StepDefinition; spec: Extract<StepSpec, { type: 'rtmp_watch' }>; rank: number } | null = null;
    for (const workflow of this.#workflows.values()) {
      for (const step of workflow.steps) {
        const spec = step.spec;
        if (spec.type !== 'rtmp_watch' || spec.rtmpApp !== app || (spec.streamKey !== '*' && spec.streamKey !== key)) continue;
        const rank = (spec.reactor !== null ? 2 : 0) + (spec.streamKey !== '*' ? 1 : 0);
        if (best === null || rank > best.rank) best = { workflow, step, spec, rank };
      }
    }
    return best;
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
      if ((step.spec.type === 'rtmp_receive' || step.spec.type === 'rtmp_watch') && step.spec.listener.tls && !this.#tls) {
        throw new WorkflowError(step.line, 1, `${step.written}: rtmps needs a certificate: set tls_cert_path + tls_cert_password (TLS_CERT_PATH) or TLS_CERT_FILE + TLS_KEY_FILE`);
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

/** What decides whether a reactor's new answer changes a workflow: its steps and routing. */
function signature(definition: WorkflowDefinition): string {
  return JSON.stringify([definition.routedByReactor, definition.steps.map((s) => [s.id, s.written])]);
}

const NEEDS_RTMP = new Set(['rtmp_receive', 'ffmpeg_pull', 'ffmpeg_transcode', 'rtmp_watch']);

function claimOf(spec: StepSpec): Claim | null {
  if (spec.type === 'rtmp_receive') return { kind: spec.listener.port === null && !spec.listener.tls ? 'rtmp' : `rtmp:${spec.listener.port ?? ''}:${spec.listener.tls}`, app: spec.rtmpApp, key: spec.streamKey };
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

export function ipAllowed(filter: IpFilter, ip: string): boolean {
  const parsed = parseIp(ip);
  if (parsed === null) return filter.mode === 'deny';
  let list = parsedLists.get(filter.list);
  if (list === undefined) parsedLists.set(filter.list, (list = parseAllowlist(filter.list)));
  const listed = allowlistContains(list, parsed);
  return filter.mode === 'allow' ? listed : !listed;
}
