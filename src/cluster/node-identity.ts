/**
 * This node's id: NODE_ID when set, else generated once and kept in STATE_PATH/node-id, so a
 * restarted node is the same node (its report ids stay the same).
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicSync } from '../storage/atomic-write';

const ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

export function nodeIdentity(configured: string, statePath: string): string {
  if (configured !== '') return configured;
  const file = path.join(statePath, 'node-id');
  if (fs.existsSync(file)) {
    const kept = fs.readFileSync(file, 'utf8').trim();
    if (ID_PATTERN.test(kept)) return kept;
    throw new Error(`${file} does not hold a node id (1 to 64 letters, digits, _ . or -): remove it or set NODE_ID`);
  }
  const id = randomUUID();
  writeFileAtomicSync(file, `${id}\n`);
  return id;
}
