/** A real pino logger whose JSON lines are kept in memory, for tests that check what was logged. */
import { createLogger, type Logger } from '../../src/logging/logger';

export interface CapturedLog {
  logger: Logger;
  lines: () => Array<Record<string, unknown>>;
  /** Lines whose `msg` includes `text`. */
  find: (text: string) => Array<Record<string, unknown>>;
}

export function captureLog(level: 'debug' | 'info' | 'warn' = 'info'): CapturedLog {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger(level, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines: () => lines, find: (text) => lines.filter((l) => String(l.msg ?? '').includes(text)) };
}
