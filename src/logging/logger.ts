/**
 * Structured logging: one JSON line per event, with `channel` (component) and, where known, the
 * stream's `ch` and `streamId`. Create children (`logger.child({ component: 'ingest-ws' })`) so
 * every line carries its place.
 */
import * as path from 'node:path';
import pino from 'pino';

export type Logger = pino.Logger;

/** `LOG_LEVEL`: quiet by default (`info`). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The file castline appends its log lines to inside LOG_PATH. */
export const LOG_FILE_NAME = 'castline.log';

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/** The process's logger: stdout, and `{logPath}/castline.log` when set. */
export interface ProcessLogger {
  logger: Logger;
  /** Reopens the log file (after logrotate moved it); nothing without a file. */
  reopen(): void;
  /** Writes out what is buffered (before exit). */
  flush(): void;
}

export function createProcessLogger(level: LogLevel, logPath: string | null): ProcessLogger {
  if (logPath === null) return { logger: createLogger(level), reopen: () => undefined, flush: () => undefined };
  // The folder is made and checked by loadConfig.
  const file = pino.destination({ dest: path.join(logPath, LOG_FILE_NAME), append: true, sync: false });
  const streams = pino.multistream([{ level: 'trace', stream: process.stdout }, { level: 'trace', stream: file }]);
  return {
    logger: createLogger(level, streams),
    reopen: () => file.reopen(),
    flush: () => file.flushSync(),
  };
}

/** A logger that drops everything: for tests and benchmarks that do not look at logs. */
export const silentLogger: Logger = pino({ level: 'silent' });
