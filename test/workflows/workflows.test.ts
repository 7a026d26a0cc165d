/**
 * Workflow definitions (step types and arguments), the registry (routing, conflicts, persistence)
 * and session plans — pure logic, no sockets.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { details } from '../../src/api/workflows';
import { silentLogger } from '../../src/logging/logger';
import { ConfigError } from '../../src/config/config';
import { parseConfigText } from '../../src/config/config-format';
import { DEFAULT_WORKFLOW_TEXT, defineConfiguredWorkflows, parseSingleWorkflow } from '../../src/workflows/definition';
import { InternalRtmp } from '../../src/workflows/internal-rtmp';
import { planSession } from '../../src/workflows/plan';
import { WorkflowRegistry } from '../../src/workflows/registry';
import { WorkflowError } from '../../src/workflows/steps';
import { WorkflowStore } from '../../src/workflows/store';

const wf = (name: string, ...steps: string[]) => `workflow ${name} {\n${steps.map((s) => `    ${s}\n`).join('')}}\n`;

function errorOf(text: string): WorkflowError {
  try {
    parseSingleWorkflow(text);
  } catch (err) {
    if (err instanceof WorkflowError) return err;
    throw err;
  }
  throw new Error('expected a WorkflowError');
}

describe('workflow definitions', () => {
  it('the built-in default workflow is the coordinator behaviour', () => {
    const d = parseSingleWorkflow(DEFAULT_WORKFLOW_TEXT);
    expect(d.name).to.equal('live');
    expect(d.steps.map((s) => s.type)).to.deep.equal(['rtmp_receive', 'ws_receive', 'verify_key', 'hls_ladder']);
    expect(d.steps[0].spec).to.deep.equal({ type: 'rtmp_receive', rtmpApp: '*', streamKey: '*', ipFilter: null, listener: { port: null, tls: false }, reactor: null });
  });

  it('reads every step type with its arguments and defaults', () => {
    const d = parseSingleWorkflow(wf('all',
      'rtmp_receive rtmp_app=studio stream_key=* allow_ips=10.0.0.0/8,127.0.0.1',
      'verify_key url=http://app.local/verify timeout=2.5',
      'hls_ladder resolutions="1280x720-30, 640x360" record=true previews=320x180,5',
      'ffmpeg_transcode vcodec=h264 acodec=aac size=640x360 kbps=800',
      'ffmpeg_hls path=archive/studio duration=4 count=10 stream_name=main',
      'ffmpeg_push target=rtmp://a.example/live/key?x=1&y=2',
      'rtmp_watch rtmp_app=watch stream_key=*',
      'forward_to_workflow target_workflow=other',
    ));
    expect(d.steps.map((s) => s.spec)).to.deep.equal([
      { type: 'rtmp_receive', rtmpApp: 'studio', streamKey: '*', ipFilter: { mode: 'allow', list: '10.0.0.0/8,127.0.0.1' }, listener: { port: null, tls: false }, reactor: null },
      { type: 'verify_key', url: 'http://app.local/verify', timeoutMs: 2500 },
      { type: 'hls_ladder', resolutions: '1280x720-30, 640x360', record: true, previews: '320x180,5' },
      { type: 'ffmpeg_transcode', vcodec: 'h264', acodec: 'aac', preset: 'veryfast', size: { width: 640, height: 360 }, kbps: 800 },
      { type: 'ffmpeg_hls', path: 'archive/studio', durationSeconds: 4, count: 10, streamName: 'main' },
      { type: 'ffmpeg_push', target: 'rtmp://a.example/live/key?x=1&y=2' },
      { type: 'rtmp_watch', rtmpApp: 'watch', streamKey: '*', ipFilter: null, listener: { port: null, tls: false }, reactor: null },
      { type: 'forward_to_workflow', targetWorkflow: 'other', reactor: null },
    ]);
    expect(parseSingleWorkflow(wf('h', 'ffmpeg_hls path=x')).steps[0].spec).to.deep.equal({ type: 'ffmpeg_hls', path: 'x', durationSeconds: 2, count: 0, streamName: null });
  });

  it('a step id depends only on the type and the parameters (not their order)', () => {
    const a = parseSingleWorkflow(wf('a', 'ffmpeg_hls path=x duration=3')).steps[0].id;
    const b = parseSingleWorkflow(wf('b', 'ffmpeg_hls duration=3 path=x')).steps[0].id;
    const c = parseSingleWorkflow(wf('c', 'ffmpeg_hls path=x duration=4')).steps[0].id;
    expect(a).to.equal(b);
    expect(a).not.to.equal(c);
  });

  const invalid: Array<[string, number, RegExp]> = [
    [wf('x', 'rtmp_recieve rtmp_app=a stream_key=*'), 2, /unknown step type 'rtmp_recieve'/],
    [wf('x', 'rtmp_receive stream_key=*'), 2, /rtmp_receive: 'rtmp_app' is required/],
    [wf('x', 'rtmp_receive rtmp_app=a stream_key=* port=99999'), 2, /'port' must be a whole number from 1 to 65535/],
    [wf('x', 'rtmp_receive rtmp_app=a stream_key=* rtmps=yes'), 2, /'rtmps' is a flag/],
    [wf('x', 'basic_transcode video=vp9'), 2, /'video' must be x264 or copy/],
    [wf('x', 'basic_transcode video=x264 video_width=640'), 2, /'video_width' and 'video_height' go together/],
    [wf('x', 'basic_transcode video=copy video_bitrate=100'), 2, /need video=x264/],
    [wf('x', 'forward_to_workflow target_workflow=a reactor=b'), 2, /either 'target_workflow' or 'reactor'/],
    [wf('x', 'rtmp_receive rtmp_app=a stream_key=* allow_ips=10.0.0.1 deny_ips=10.0.0.2'), 2, /allow_ips and deny_ips cannot both/],
    [wf('x', 'rtmp_receive rtmp_app=a stream_key=* allow_ips=banana'), 2, /not an IP address or CIDR: banana/],
    [wf('x', 'rtmp_receive rtmp_app=a/b stream_key=*'), 2, /'rtmp_app' must be \* or letters/],
    [wf('x', 'ws_receive'), 2, /'channel' is required/],
    [wf('x', 'verify_key url=ftp://x'), 2, /'url' must be a http or https URL/],
    [wf('x', 'verify_key timeout=0'), 2, /'timeout' must be a number of seconds/],
    [wf('x', 'hls_ladder resolutions=1280x720,bogus'), 2, /resolutions/],
    [wf('x', 'hls_ladder record=perhaps'), 2, /'record' must be true or false/],
    [wf('x', 'ffmpeg_hls'), 2, /'path' is required/],
    [wf('x', 'ffmpeg_hls path=../etc'), 2, /'path' must be a folder inside HLS_FILESYSTEM_PATH/],
    [wf('x', 'ffmpeg_hls path=x duration=0'), 2, /'duration' must be a whole number from 1 to 60/],
    [wf('x', 'ffmpeg_push target=http://x'), 2, /'target' must be a rtmp or rtmps URL/],
    [wf('x', 'ffmpeg_transcode vcodec=vp9 acodec=aac'), 2, /'vcodec' must be copy or h264/],
    [wf('x', 'ffmpeg_transcode vcodec=h264'), 2, /'acodec' is required/],
    [wf('x', 'ffmpeg_transcode vcodec=h264 acodec=aac size=big'), 2, /'size' must be/],
    [wf('x', 'ffmpeg_transcode vcodec=copy acodec=aac kbps=100'), 2, /need vcodec=h264/],
    [wf('x', 'rtmp_watch rtmp_app=w'), 2, /'stream_key' is required/],
    [wf('x', 'forward_to_workflow'), 2, /either 'target_workflow' or 'reactor'/],
    [wf('x', 'hls_ladder', 'hls_ladder record=true'), 3, /hls_ladder may appear once/],
    [wf('x', 'hls_ladder', 'verify_key'), 3, /verify_key must come before hls_ladder/],
    [wf('x', 'ffmpeg_push target=rtmp://a/b/c', 'ffmpeg_push target=rtmp://a/b/c'), 3, /the same step is written twice/],
    ['workflow a {\n}\nworkflow b {\n}\n', 3, /exactly one workflow, 2 were given/],
  ];
  for (const [text, line, message] of invalid) {
    it(`refuses ${JSON.stringify(text.split('\n').slice(1, -2).join(' | ') || text.slice(0, 30))} naming line ${line}`, () => {
      const err = errorOf(text);
      expect(err.line).to.equal(line);
      expect(err.message).to.match(message);
      expect(err.message).to.match(new RegExp(`^line ${line}, column \\d+: `));
    });
  }

  it("mmids' lenient parts: an unknown argument is ignored and a repeated one takes its last value, each with a warning", () => {
    const d = parseSingleWorkflow(wf('w flavour=red', 'ffmpeg_hls path=x path=y colour=blue'));
    expect(d.steps[0].spec).to.include({ path: 'y' });
    expect(d.warnings).to.have.length(3);
    expect(d.warnings.join('\n')).to.match(/line 1, column \d+: workflow w: unknown workflow argument 'flavour' ignored/);
    expect(d.warnings.join('\n')).to.match(/line 2, column \d+: ffmpeg_hls: 'path' is given more than once: the last value is used/);
    expect(d.warnings.join('\n')).to.match(/ffmpeg_hls: unknown argument 'colour' ignored/);
  });

  it("basic_transcode (mmids' arguments) maps onto the ffmpeg transcode; workflow_forwarder is forward_to_workflow", () => {
    const d = parseSingleWorkflow(wf('t',
      'basic_transcode audio=avenc_aac video=x264 video_width=1024 video_height=768 video_fps=30 video_preset=veryfast audio_bitrate=128000 video_bitrate=2000',
      'basic_transcode audio=copy video=copy',
      'workflow_forwarder target_workflow=next',
    ));
    expect(d.steps.map((s) => [s.type, s.written])).to.deep.equal([['ffmpeg_transcode', 'basic_transcode'], ['ffmpeg_transcode', 'basic_transcode'], ['forward_to_workflow', 'workflow_forwarder']]);
    expect(d.steps[0].spec).to.deep.equal({ type: 'ffmpeg_transcode', vcodec: 'h264', acodec: 'aac', preset: 'veryfast', size: { width: 1024, height: 768 }, kbps: 2000, fps: 30, audioKbps: 128 });
    expect(d.steps[1].spec).to.include({ vcodec: 'copy', acodec: 'copy' });
    expect(d.steps[2].spec).to.deep.equal({ type: 'forward_to_workflow', targetWorkflow: 'next', reactor: null });
  });

  it('rtmp_receive / rtmp_watch: port=, rtmps, reactor=, and IP filters on rtmp_watch', () => {
    const d = parseSingleWorkflow(wf('p',
      'rtmp_receive rtmp_app=a stream_key=* port=1936 rtmps reactor=r1',
      'rtmp_watch rtmp_app=w stream_key=* deny_ips=10.0.0.1 rtmps',
    ));
    expect(d.steps[0].spec).to.include({ reactor: 'r1' });
    expect((d.steps[0].spec as { listener: object }).listener).to.deep.equal({ port: 1936, tls: true });
    expect((d.steps[1].spec as { listener: object }).listener).to.deep.equal({ port: null, tls: true });
    expect(d.steps[1].spec).to.deep.include({ ipFilter: { mode: 'deny', list: '10.0.0.1' } });
    expect(d.steps[0].parameters).to.deep.equal({ rtmp_app: 'a', stream_key: '*', port: '1936', rtmps: null, reactor: 'r1' });
  });

  it('a PUT body may carry settings (ignored, with a warning) and reactor blocks (applied)', () => {
    const r = new WorkflowRegistry({ store: null, logger: silentLogger });
    r.load([]);
    const { definition } = r.upsert('settings {\n  http_api_port 9011\n}\nreactor look executor=simple_http update_interval=5 {\n  url http://127.0.0.1:1/x\n}\n' + wf('w', 'rtmp_receive rtmp_app=w stream_key=* reactor=look'));
    expect(definition.warnings).to.deep.equal(["line 2, column 3: setting 'http_api_port' ignored: settings are read at start-up only"]);
    expect(r.reactor('look')).to.deep.equal({ name: 'look', url: 'http://127.0.0.1:1/x', updateIntervalSeconds: 5 });
    expect(() => r.upsert(wf('v', 'rtmp_receive rtmp_app=v stream_key=* reactor=nope'))).to.throw(WorkflowError, /no reactor named 'nope'/);
    expect(() => r.upsert('reactor bad executor=grpc {\n  url http://x/\n}\n' + wf('v', 'ws_receive channel=v'))).to.throw(WorkflowError, /unknown executor 'grpc'/);
    expect(() => r.upsert('reactor bad executor=simple_http {\n}\n' + wf('v', 'ws_receive channel=v'))).to.throw(WorkflowError, /needs a `url`/);
  });

  it('the config file: reactors validated, a step naming an undefined reactor stops start-up naming the line', () => {
    const text = 'reactor r executor=simple_http {\n  url http://127.0.0.1:1/\n}\n' + wf('a', 'rtmp_receive rtmp_app=a stream_key=* reactor=r') + wf('b', 'rtmp_watch rtmp_app=b stream_key=* reactor=missing');
    const parsed = parseConfigText(text);
    try {
      defineConfiguredWorkflows({ path: '/etc/castline.config', workflows: parsed.workflows, reactors: parsed.reactors });
      expect.fail('expected a ConfigError');
    } catch (err) {
      expect((err as ConfigError).problems).to.deep.equal(["/etc/castline.config: line 8: workflow b: no reactor named 'missing' is defined"]);
    }
    const ok = parseConfigText(text.replace('reactor=missing', 'reactor=r'));
    const out = defineConfiguredWorkflows({ path: '/etc/castline.config', workflows: ok.workflows, reactors: ok.reactors });
    expect(out.reactors).to.deep.equal([{ name: 'r', url: 'http://127.0.0.1:1/', updateIntervalSeconds: 0 }]);
    expect(out.workflows.map((w) => w.name)).to.deep.equal(['a', 'b']);
  });

  it('an empty body names the problem', () => {
    expect(errorOf('').message).to.match(/no workflow in the body/);
  });
});

describe('workflow registry', () => {
  const registry = (store: WorkflowStore | null = null) => {
    const r = new WorkflowRegistry({ store, logger: silentLogger });
    r.load([]);
    return r;
  };

  it('starts with the built-in `live` workflow when nothing is configured; lists names sorted', () => {
    const r = registry();
    r.upsert(wf('b-studio', 'rtmp_receive rtmp_app=studio stream_key=*'));
    r.upsert(wf('a-web', 'ws_receive channel=web'));
    expect(r.list()).to.deep.equal([{ name: 'a-web' }, { name: 'b-studio' }, { name: 'live' }]);
  });

  it('routes a publish to the most specific ingest claim; the app is the channel', () => {
    const r = registry();
    r.upsert(wf('studio', 'rtmp_receive rtmp_app=studio stream_key=*'));
    r.upsert(wf('vip', 'rtmp_receive rtmp_app=studio stream_key=vip-key'));
    r.upsert(wf('web', 'ws_receive channel=studio'));
    const route = (ingest: 'RTMP' | 'WS', ch: string, key: string) => {
      const res = r.route(ingest, ch, key, '203.0.113.1');
      return res.ok ? res.workflow.name : res.reason;
    };
    expect(route('RTMP', 'studio', 'anything')).to.equal('studio');
    expect(route('RTMP', 'studio', 'vip-key')).to.equal('vip');
    expect(route('RTMP', 'other', 'k')).to.equal('live');
    expect(route('WS', 'studio', 'k')).to.equal('web');
    expect(route('WS', 'other', 'k')).to.equal('live');
    r.delete('live');
    expect(route('RTMP', 'other', 'k')).to.equal('no-workflow');
  });

  it('applies allow_ips / deny_ips of the owning workflow', () => {
    const r = registry();
    r.upsert(wf('lan', 'rtmp_receive rtmp_app=lan stream_key=* allow_ips=10.0.0.0/8'));
    r.upsert(wf('nolan', 'ws_receive channel=nolan deny_ips=10.0.0.0/8'));
    expect(r.route('RTMP', 'lan', 'k', '10.1.2.3').ok).to.equal(true);
    expect(r.route('RTMP', 'lan', 'k', '203.0.113.1')).to.deep.include({ ok: false, reason: 'ip-denied' });
    expect(r.route('WS', 'nolan', 'k', '10.1.2.3')).to.deep.include({ ok: false, reason: 'ip-denied' });
    expect(r.route('WS', 'nolan', 'k', '203.0.113.1').ok).to.equal(true);
  });

  it('refuses a workflow whose ingest claims exactly what another one claims, and changes nothing', () => {
    const r = registry();
    r.upsert(wf('studio', 'rtmp_receive rtmp_app=studio stream_key=*'));
    expect(() => r.upsert(wf('copy', 'rtmp_receive rtmp_app=studio stream_key=*'))).to.throw(WorkflowError, /conflicts with workflow studio/);
    expect(() => r.upsert(wf('any', 'ws_receive channel=*'))).to.throw(WorkflowError, /conflicts with workflow live/);
    expect(r.list().map((w) => w.name)).to.deep.equal(['live', 'studio']);
    // Updating a workflow with its own claim is not a conflict.
    r.upsert(wf('studio', 'rtmp_receive rtmp_app=studio stream_key=*', 'ffmpeg_hls path=x'));
  });

  it('announces creations, updates and deletions', () => {
    const r = registry();
    const seen: string[] = [];
    r.on('changed', (prev, next) => seen.push(`${prev?.name ?? '-'}→${next?.name ?? '-'}`));
    r.upsert(wf('a', 'ws_receive channel=a'));
    r.upsert(wf('a', 'ws_receive channel=a', 'ffmpeg_hls path=x'));
    expect(r.delete('a')).to.equal(true);
    expect(r.delete('a')).to.equal(false);
    expect(seen).to.deep.equal(['-→a', 'a→a', 'a→-']);
  });

  it('persists API changes and applies them over the configured workflows at the next start', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-wf-'));
    try {
      const first = registry(new WorkflowStore(dir));
      first.upsert(wf('studio', 'rtmp_receive rtmp_app=studio stream_key=*'));
      first.delete('live');
      const second = registry(new WorkflowStore(dir));
      expect(second.list()).to.deep.equal([{ name: 'studio' }]);
      expect(second.get('studio')!.steps[0].type).to.equal('rtmp_receive');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start on an unreadable workflows file, naming it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'castline-wf-'));
    try {
      fs.writeFileSync(path.join(dir, 'workflows.json'), '{ nope');
      expect(() => registry(new WorkflowStore(dir))).to.throw(/workflows.json is not valid JSON/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('session plans', () => {
  const ctx = (over: Partial<Parameters<typeof planSession>[1]> = {}) => ({
    channel: 'studio', key: 'k1', streamId: 'a'.repeat(32),
    source: { type: 'RTMP' as const, uri: 'rtmp://127.0.0.1:1935/studio/k1' },
    hlsRoot: '/data', internal: new InternalRtmp('127.0.0.1', () => 1935, 'tok'),
    workflow: () => undefined,
    ...over,
  });

  it('media flows down the steps: a transcode output feeds the steps after it, including the ladder', () => {
    const d = parseSingleWorkflow(wf('s',
      'rtmp_receive rtmp_app=studio stream_key=*',
      'ffmpeg_push target=rtmp://out.example/raw/x',
      'ffmpeg_transcode vcodec=h264 acodec=aac size=640x360',
      'hls_ladder resolutions=640x360',
      'rtmp_watch rtmp_app=watch stream_key=*',
      'ffmpeg_hls path=archive',
    ));
    const plan = planSession(d, ctx());
    expect(plan.verify).to.equal(null);
    const transcoded = plan.steps[1].job.step.type === 'ffmpeg_transcode' ? plan.steps[1].job.step.output : '';
    expect(transcoded).to.match(/^rtmp:\/\/127\.0\.0\.1:1935\/castline-internal\/a{32}-[0-9a-f]{16}\?castline_token=tok$/);
    expect(plan.steps.map((s) => [s.type, s.job.input])).to.deep.equal([
      ['ffmpeg_push', 'rtmp://127.0.0.1:1935/studio/k1'],
      ['ffmpeg_transcode', 'rtmp://127.0.0.1:1935/studio/k1'],
      ['rtmp_watch', transcoded],
      ['ffmpeg_hls', transcoded],
    ]);
    expect(plan.ladder?.source.uri).to.equal(transcoded);
    expect(plan.steps[2].job.step).to.deep.equal({ type: 'rtmp_watch', output: 'rtmp://127.0.0.1:1935/watch/k1?castline_token=tok' });
    expect(plan.steps[3].job.step).to.deep.include({ type: 'ffmpeg_hls', directory: '/data/archive', name: 'studio' });
  });

  it('forward_to_workflow runs the target workflow\'s steps on this stream; loops forward nothing', () => {
    const target = parseSingleWorkflow(wf('target', 'ffmpeg_hls path=fwd', 'forward_to_workflow target_workflow=main'));
    const main = parseSingleWorkflow(wf('main', 'ws_receive channel=x', 'verify_key', 'forward_to_workflow target_workflow=target'));
    const plan = planSession(main, ctx({ workflow: (n) => (n === 'target' ? target : n === 'main' ? main : undefined) }));
    expect(plan.verify).to.deep.equal({ url: null, timeoutMs: null });
    expect(plan.steps.map((s) => [s.workflow, s.type])).to.deep.equal([['target', 'ffmpeg_hls']]);
    expect(plan.steps[0].id).to.match(/^[0-9a-f]{16}>[0-9a-f]{16}$/);
  });
});

describe('workflow details', () => {
  it('a step shows Error (naming the stream) while one of its live instances failed, Active otherwise', () => {
    const d = parseSingleWorkflow(wf('w', 'ws_receive channel=w', 'ffmpeg_push target=rtmp://a/b/c', 'ffmpeg_hls path=x'));
    const [, push, hls] = d.steps;
    const streams = { workflowStreams: () => [
      { channel: 'w', streamId: 's1', steps: [{ step_id: push.id, status: 'Active' }, { step_id: hls.id, status: 'Active' }] },
      { channel: 'w', streamId: 's2', steps: [{ step_id: push.id, status: 'Error: STEP_FAILED: connection refused' }, { step_id: hls.id, status: 'Active' }] },
    ] };
    const shown = details(d, streams) as { active_steps: Array<{ step_type: string; status: string }> };
    expect(shown.active_steps.map((s) => `${s.step_type}=${s.status}`)).to.deep.equal([
      'ws_receive=Active',
      'ffmpeg_push=Error: STEP_FAILED: connection refused (stream s2)',
      'ffmpeg_hls=Active',
    ]);
    expect((details(d, { workflowStreams: () => [] }) as { active_steps: Array<{ status: string }> }).active_steps.every((s) => s.status === 'Active')).to.equal(true);
  });
});
