/**
 * Structured logging: one JSON line per event, with `channel` (component) and, where known, the
 * stream's `ch` and `streamId`. Create children (`logger.child({ component: 'ingest-ws' })`) so
 * every line carries its place.
 */
import pino from 'pino';
import type { LogLevel } from './config/config';

export type Logger = pino.Logger;

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/** A logger that drops everything: for tests and benchmarks that do not look at logs. */
export const silentLogger: Logger = pino({ level: 'silent' });
