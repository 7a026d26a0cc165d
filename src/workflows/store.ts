/**
 * Persistence of the workflows changed over the API, beside the event outbox (STATE_PATH):
 * `workflows.json` = `{ version: 1, upserts: {name: text}, deleted: [name] }`, applied on top of
 * the config file's workflows at start-up. Written atomically (temp file, fsync, rename).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicSync } from '../storage/atomic-write';

export interface WorkflowChanges {
  upserts: Record<string, string>;
  deleted: string[];
}

export class WorkflowStore {
  readonly file: string;

  constructor(statePath: string) {
    this.file = path.join(statePath, 'workflows.json');
  }

  /** The saved changes; empty when there are none. Throws with the file name when it is unreadable. */
  load(): WorkflowChanges {
    if (!fs.existsSync(this.file)) return { upserts: {}, deleted: [] };
    let data: unknown;
    try {
      data = JSON.parse(fs.readFileSync(this.file, 'utf8'));
    } catch (err) {
      throw new Error(`${this.file} is not valid JSON (${(err as Error).message}); fix or remove it`);
    }
    const d = data as Partial<WorkflowChanges> & { version?: number };
    if (d.version !== 1 || typeof d.upserts !== 'object' || d.upserts === null || !Array.isArray(d.deleted)) {
      throw new Error(`${this.file} is not a castline workflows file; fix or remove it`);
    }
    return { upserts: d.upserts, deleted: d.deleted.filter((n): n is string => typeof n === 'string') };
  }

  save(changes: WorkflowChanges): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    writeFileAtomicSync(this.file, JSON.stringify({ version: 1, ...changes }, null, 2), { mode: 0o600, fsync: true });
  }
}
