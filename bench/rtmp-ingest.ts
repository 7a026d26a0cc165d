/**
 * RTMP ingest figures: time from ffmpeg start to the coordinator's publish call, from that call to
 * "live" (instant coordinator), and the node process's CPU for a 10 s 320x180 stream with one
 * player (ffmpeg pulling the source URI and recording it).
 * Run: npx tsc -p tsconfig.test.json && node dist-test/bench/rtmp-ingest.js [runs]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RtmpIngest } from '../src/ingest/rtmp/rtmp-ingest';
import { silentLogger } from '../src/logging/logger';
import { accept, FakePublishSink } from '../test/fakes/publish-sink';
import { killAll, play, publish, within } from '../test/ingest/rtmp/rtmp-ffmpeg';

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 3);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-rtmp-bench-'));
  const coordinator = new FakePublishSink(accept);
  const ingest = new RtmpIngest({
    sink: coordinator,
    config: { rtmpPort: 0, bindAddress: '127.0.0.1', idMaxLength: 128, statePath: dir },
    logger: silentLogger,
    serverId: 1,
  });
  await ingest.start();
  try {
    for (let i = 1; i <= runs; i++) {
      const startedAt = Date.now();
      const cpu0 = process.cpuUsage();
      const pub = publish(`rtmp://127.0.0.1:${ingest.port}/bench/k${i}`, 10);
      const d = await within(15_000, 'decision', coordinator.decision(i));
      const out = path.join(dir, `p${i}.flv`);
      const player = play(d.request.source.uri, out);
      await pub.exited;
      await within(5000, 'player', player.exited);
      const cpu = process.cpuUsage(cpu0);
      console.log(JSON.stringify({
        run: i,
        ffmpegStartToPublishMs: d.askedAt - startedAt,
        publishToLiveMs: d.decidedAt - d.askedAt,
        nodeCpuMsFor10s: Math.round((cpu.user + cpu.system) / 1000),
        recordedBytes: fs.statSync(out).size,
      }));
    }
  } finally {
    await killAll();
    await ingest.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
