/** Starts a whole castline in this process on ephemeral ports, with a temporary data folder. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../src/config/config';
import { silentLogger, type Logger } from '../../src/logging/logger';
import { startCastline, type Castline } from '../../src/main';

export interface TestCastline extends Castline {
  root: string;
  dataDir: string;
  /** Stops castline and removes its folders. */
  dispose(): Promise<void>;
}

export async function startTestCastline(env: Record<string, string> = {}, logger: Logger = silentLogger): Promise<TestCastline> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-e2e-'));
  const config = loadConfig({
    dotenvPath: null,
    cwd: root,
    env: {
      HTTP_PORT: '0',
      RTMP_PORT: '0',
      BIND_ADDRESS: '127.0.0.1',
      HLS_TIME_SECONDS: '1',
      HLS_LIVE_PLAYLIST_SIZE: '4',
      HLS_H264_PRESET: 'ultrafast',
      ENCODE_STOP_GRACE_SECONDS: '5',
      EVENT_CALLBACK_RETRY_BASE: '0.05',
      EVENT_CALLBACK_RETRY_MAX: '0.5',
      ...env,
    },
  });
  const castline = await startCastline(config, logger);
  return Object.assign(Object.create(castline) as Castline, castline, {
    root,
    dataDir: config.hlsFilesystemPath,
    dispose: async () => {
      await castline.close();
      fs.rmSync(root, { recursive: true, force: true });
    },
  });
}
