/**
 * Structured logging: one JSON line per event, with `channel` (component) and, where known, the
 * stream's `ch` and `streamId`. Create children (`logger.child({ component: 'ingest-ws' })`) so
 * every line carries its place.
 */
import pino from 'pino';

export type Logger = pino.Logger;

/** `LOG_LEVEL`: quiet by default (`info`). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/** A logger that drops everything: for tests and benchmarks that do not look at logs. */
export const silentLogger: Logger = pino({ level: 'silent' });
