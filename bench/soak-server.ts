/**
 * castline for the soak run (bench/soak.ts): the real server in its own process, configured from
 * the environment like `node dist/main.js`, printing its own heap figures every 5 s as one JSON
 * line (`{"soakHeap":…}`) for the driver, which reads RSS, fds and threads from /proc.
 */
import { loadConfig } from '../src/config/config';
import { createLogger } from '../src/logging/logger';
import { startCastline } from '../src/main';

async function run(): Promise<void> {
  const config = loadConfig();
  const castline = await startCastline(config, createLogger(config.logLevel));
  const report = () => {
    const m = process.memoryUsage();
    process.stdout.write(`${JSON.stringify({ soakHeap: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, streams: castline.coordinator.sessionCount() })}\n`);
  };
  report();
  setInterval(report, 5000).unref();
  const stop = () => void castline.close().then(() => process.exit(0), () => process.exit(1));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void run();
