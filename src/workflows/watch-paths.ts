/**
 * The RTMP ingest's `WatchedPaths` from the workflows' `rtmp_watch` steps: which paths a watch step
 * publishes on (a real publisher of such a path is moved aside, so players see what reaches the
 * step), and who may play a path: the step's `allow_ips` / `deny_ips`, then its `reactor=` — the
 * first player of a path makes the reactor be asked about the key (404: refused; valid: the
 * answered workflows are created and the player waits for their media); the reactor's workflows
 * are released when the path's last player leaves.
 */
import type { ReactorLease } from './reactor-lease';
import { ipAllowed, type WorkflowRegistry } from './registry';
import type { SessionRouter } from './session-router';

/** Whether a player may watch (the RTMP ingest's `PlayerAdmission`, which it declares). */
export type PlayerAdmission = { ok: true; release?: () => void } | { ok: false; reason: string };

interface Watch {
  players: number;
  lease: ReactorLease | null;
  decided: Promise<PlayerAdmission>;
}

export class WorkflowWatchPaths {
  readonly #watches = new Map<string, Watch>();

  constructor(private readonly registry: WorkflowRegistry, private readonly router: SessionRouter) {}

  watched(app: string, key: string): boolean {
    return this.registry.watchStep(app, key) !== null;
  }

  admitPlayer(app: string, key: string, ip: string): PlayerAdmission | Promise<PlayerAdmission> | null {
    const found = this.registry.watchStep(app, key);
    if (found === null) return null;
    const { spec } = found;
    if (spec.ipFilter !== null && !ipAllowed(spec.ipFilter, ip)) return { ok: false, reason: `workflow ${found.workflow.name} does not accept players from ${ip}` };
    if (spec.reactor === null) return { ok: true };
    const path = `${app}/${key}`;
    let watch = this.#watches.get(path);
    if (watch === undefined) {
      const lease = this.router.lease(spec.reactor, key, `watch:${path}`, { revoked: () => undefined, rerouted: () => undefined });
      const decided: Promise<PlayerAdmission> = lease === null
        ? Promise.resolve({ ok: false, reason: `reactor ${spec.reactor} is not defined` })
        : lease.start().then((answer) => (answer.valid ? { ok: true } : { ok: false, reason: answer.why }));
      watch = { players: 0, lease, decided };
      this.#watches.set(path, watch);
    }
    const current = watch;
    current.players++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (--current.players > 0 || this.#watches.get(path) !== current) return;
      this.#watches.delete(path);
      current.lease?.release();
    };
    return current.decided.then((a) => {
      if (!a.ok) release();
      return a.ok ? { ok: true, release } : a;
    });
  }
}
