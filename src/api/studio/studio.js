/*
 * castline studio: publish (test pattern, camera or screen) over castline's WebSocket protocol,
 * list the live streams, watch one with hls.js. Plain browser JavaScript, no build step, nothing
 * loaded from elsewhere. Data comes from GET /studio/api/overview (commands API credentials,
 * asked for on a 401 and kept in sessionStorage only).
 */
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const SEGMENT_SECONDS = Number(document.body.dataset.segmentSeconds) || 2;
  const AUTH_KEY = 'castline.studio.authorization';
  const POLL_MS = 2000;
  const studio = { publisher: null, player: null, watching: null, overview: null };
  window.castlineStudio = studio; // for the curious (and the tests): read-only use

  // ---- the studio API ------------------------------------------------------------------------

  async function api(path) {
    const authorization = sessionStorage.getItem(AUTH_KEY);
    // credentials: 'omit' keeps the browser's own login prompt away: the page asks instead.
    const res = await fetch(path, { credentials: 'omit', cache: 'no-store', headers: authorization ? { Authorization: authorization } : {} });
    if (res.status === 401) {
      showLogin(authorization ? 'Those credentials were refused: try again.' : 'The commands API needs credentials.');
      return null;
    }
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(`${path}: ${res.status} ${body.error || ''}`);
    $('login').hidden = true;
    return body;
  }

  function showLogin(message) {
    $('login-message').textContent = message;
    $('login').hidden = false;
  }

  function useLogin(event) {
    event.preventDefault();
    const method = $('auth-method').value;
    const secret = $('auth-secret').value;
    const value = method === 'Basic'
      ? 'Basic ' + btoa(String.fromCharCode(...new TextEncoder().encode(`${$('auth-user').value}:${secret}`)))
      : `Bearer ${secret}`;
    sessionStorage.setItem(AUTH_KEY, value);
    $('auth-secret').value = '';
    void refresh();
  }

  function authMethodChanged() {
    const basic = $('auth-method').value === 'Basic';
    $('auth-user').hidden = !basic;
    $('auth-secret').placeholder = basic ? 'password' : 'token';
  }

  // ---- media sources -------------------------------------------------------------------------

  /** A moving test pattern (canvas) with a wall clock, and a 440 Hz tone. */
  function testPattern(width, height) {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const g = canvas.getContext('2d');
    let frame = 0;
    const draw = () => {
      frame++;
      const bars = ['#c0c0c0', '#c0c000', '#00c0c0', '#00c000', '#c000c0', '#c00000', '#0000c0'];
      bars.forEach((c, i) => { g.fillStyle = c; g.fillRect((i * width) / 7, 0, width / 7 + 1, height * 0.62); });
      g.fillStyle = `hsl(${(frame * 3) % 360}, 60%, 30%)`;
      g.fillRect(0, height * 0.62, width, height * 0.38);
      g.fillStyle = '#fff';
      g.fillRect(((frame * width) / 90) % width, height * 0.64, height * 0.1, height * 0.1);
      g.font = `bold ${Math.round(height / 9)}px monospace`;
      g.fillText(new Date().toISOString().slice(11, 23), width * 0.05, height * 0.93);
      g.fillText(`castline #${frame}`, width * 0.05, height * 0.2);
    };
    draw();
    const timer = setInterval(draw, 1000 / 30);
    const video = canvas.captureStream(30);
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    tone.frequency.value = 440;
    const gain = audio.createGain();
    gain.gain.value = 0.1;
    const sink = audio.createMediaStreamDestination();
    tone.connect(gain).connect(sink);
    tone.start();
    void audio.resume();
    const stream = new MediaStream([...video.getVideoTracks(), ...sink.stream.getAudioTracks()]);
    return { stream, stop: () => { clearInterval(timer); tone.stop(); void audio.close(); } };
  }

  async function openSource(kind, width, height) {
    if (kind === 'pattern') return testPattern(width, height);
    const video = { width: { ideal: width }, height: { ideal: height } };
    const stream = kind === 'camera'
      ? await navigator.mediaDevices.getUserMedia({ video, audio: true })
      : await navigator.mediaDevices.getDisplayMedia({ video, audio: true });
    return { stream, stop: () => undefined };
  }

  /** H.264 in WebM where the browser can record it (castline can then copy the video), else VP8/VP9. */
  function recorderType() {
    const wanted = ['video/webm;codecs=h264,opus', 'video/webm;codecs=avc1,opus', 'video/webm;codecs=h264', 'video/webm;codecs=vp8,opus', 'video/webm'];
    return wanted.find((t) => MediaRecorder.isTypeSupported(t)) || '';
  }

  // ---- publishing ----------------------------------------------------------------------------

  function publishStatus(text, live) {
    $('publish-status').textContent = text;
    $('publish-status').classList.toggle('live', Boolean(live));
  }

  function publishError(message) {
    const li = document.createElement('li');
    li.textContent = `${new Date().toLocaleTimeString()} ${message}`;
    $('publish-errors').prepend(li);
  }

  async function goLive() {
    const channel = $('channel').value.trim();
    const key = $('key').value.trim();
    if (!/^[A-Za-z0-9_-]+$/.test(channel) || !/^[A-Za-z0-9_-]+$/.test(key)) return publishError('Channel and key: letters, digits, _ and - only.');
    const [width, height] = $('size').value.split('x').map(Number);
    $('go-live').disabled = true;
    let source;
    try {
      source = await openSource($('source').value, width, height);
    } catch (err) {
      $('go-live').disabled = false;
      return publishError(`Cannot open the ${$('source').value}: ${err.message || err}`);
    }
    $('local').srcObject = source.stream;
    void $('local').play().catch(() => undefined);
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}/${encodeURIComponent(channel)}/${encodeURIComponent(key)}/publish`);
    const pub = { ws, source, recorder: null, heartbeat: null, opened: false, channel, mimeType: recorderType(), chunks: 0, bytes: 0 };
    studio.publisher = pub;
    publishStatus('connecting…');
    $('stop').disabled = false;
    ws.onopen = () => startRecorder(pub);
    ws.onmessage = (e) => {
      if (typeof e.data === 'string' && e.data.startsWith('ERROR:')) publishError(e.data);
    };
    ws.onclose = (e) => {
      if (studio.publisher !== pub) return; // stopped here already
      if (!pub.opened) publishError('castline refused the publish (bad channel or key: 404; key refused, channel live or no capacity: 403; too many connections: 429; shutting down: 503). Its log says which.');
      else if (e.code !== 1000) publishError(`Connection closed (${e.code}${e.reason ? `: ${e.reason}` : ''}).`);
      stopPublishing('stopped');
    };
  }

  function startRecorder(pub) {
    pub.opened = true;
    const options = { videoBitsPerSecond: 1_500_000, videoKeyFrameIntervalDuration: SEGMENT_SECONDS * 1000 };
    if (pub.mimeType) options.mimeType = pub.mimeType;
    const recorder = new MediaRecorder(pub.source.stream, options);
    pub.recorder = recorder;
    recorder.ondataavailable = (e) => {
      if (!e.data || e.data.size === 0 || pub.ws.readyState !== WebSocket.OPEN) return;
      pub.chunks++;
      pub.bytes += e.data.size;
      pub.ws.send(e.data); // one binary message per chunk, in order
    };
    recorder.onerror = (e) => publishError(`MediaRecorder: ${(e.error && e.error.message) || 'error'}`);
    pub.heartbeat = setInterval(() => pub.ws.readyState === WebSocket.OPEN && pub.ws.send('h'), 10_000);
    recorder.start(500);
    publishStatus(`live on ${pub.channel} (${recorder.mimeType || 'default format'})`, true);
    setTimeout(refresh, 1500);
  }

  function stopPublishing(status) {
    const pub = studio.publisher;
    if (pub === null) return;
    studio.publisher = null;
    clearInterval(pub.heartbeat);
    if (pub.recorder && pub.recorder.state !== 'inactive') pub.recorder.stop();
    pub.source.stream.getTracks().forEach((t) => t.stop());
    pub.source.stop();
    if (pub.ws.readyState === WebSocket.OPEN || pub.ws.readyState === WebSocket.CONNECTING) pub.ws.close(1000, 'stopped in the studio');
    $('local').srcObject = null;
    $('go-live').disabled = false;
    $('stop').disabled = true;
    publishStatus(status || 'idle');
  }

  // ---- streams, events, encoder ----------------------------------------------------------------

  async function refresh() {
    let overview;
    try {
      overview = await api('/studio/api/overview');
    } catch (err) {
      $('encoder').textContent = `castline unreachable: ${err.message || err}`;
      return;
    }
    if (overview === null) return;
    studio.overview = overview;
    const { load, capacity } = overview.encoder;
    $('encoder').textContent = `encoder: ${load} / ${capacity < 0 ? '∞' : capacity} streams`;
    renderStreams(overview.streams);
    renderEvents(overview.events);
  }

  function renderStreams(streams) {
    const list = $('streams');
    list.textContent = '';
    if (streams.length === 0) list.innerHTML = '<li class="empty">none</li>';
    for (const s of streams) {
      const li = document.createElement('li');
      li.className = 'stream' + (studio.watching === s.streamId ? ' watching' : '');
      li.dataset.streamId = s.streamId;
      li.dataset.channel = s.channel;
      const thumb = document.createElement('div');
      thumb.className = 'thumb';
      thumb.textContent = s.previewIndex ? '' : 'no preview';
      if (s.previewIndex) void showThumbnail(thumb, s.previewIndex);
      const meta = document.createElement('div');
      meta.className = 'meta';
      const age = s.ageSeconds === null ? '' : ` · ${formatAge(s.ageSeconds)}`;
      meta.innerHTML = '<b></b><small></small><small></small>';
      meta.children[0].textContent = s.channel;
      meta.children[1].textContent = `${s.ingest || '?'}${age} · ${s.streamId.slice(-8)}`;
      meta.children[2].textContent = s.renditions.length > 0 ? s.renditions.join(', ') : 'encoding…';
      li.append(thumb, meta);
      li.onclick = () => watch(s);
      list.append(li);
    }
  }

  async function showThumbnail(element, indexPath) {
    try {
      const index = await (await fetch(indexPath, { cache: 'no-store' })).json();
      if (!(index.count > 0)) return;
      const last = index.index_start + index.count - 1;
      const dir = indexPath.slice(0, indexPath.lastIndexOf('/') + 1);
      element.style.backgroundImage = `url("${dir}${String(index.pattern || '%d.jpg').replace('%d', last)}")`;
      element.dataset.loaded = 'true';
    } catch {
      element.textContent = 'no preview';
    }
  }

  function formatAge(seconds) {
    if (seconds < 60) return `${seconds} s`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
    return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  }

  function renderEvents(events) {
    const list = $('events');
    list.textContent = '';
    for (const e of events) {
      const li = document.createElement('li');
      const time = document.createElement('time');
      time.textContent = new Date(e.at).toLocaleTimeString();
      li.append(time, `${e.type} ${e.channel} ${e.detail}`.trim());
      list.append(li);
    }
  }

  // ---- watching --------------------------------------------------------------------------------

  function watch(stream) {
    if (!stream.master) return playerError(`${stream.channel} has no HLS output yet: wait for its first segment.`);
    stopWatching();
    studio.watching = stream.streamId;
    $('watching').textContent = `— ${stream.channel}`;
    $('player-errors').textContent = '';
    const video = $('video');
    if (window.Hls && Hls.isSupported()) {
      const hls = new Hls({ lowLatencyMode: true, liveSyncDurationCount: 2, backBufferLength: 30 });
      hls.on(Hls.Events.ERROR, (_e, data) => data.fatal && playerError(`hls.js: ${data.type} ${data.details}`));
      hls.loadSource(stream.master);
      hls.attachMedia(video);
      studio.player = { hls, timer: setInterval(() => showLatency(hls), 500) };
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = stream.master;
      studio.player = { hls: null, timer: null };
    } else {
      return playerError('This browser plays neither HLS nor Media Source Extensions.');
    }
    void video.play().catch((err) => playerError(`play(): ${err.message || err}`));
    document.querySelectorAll('#streams li.stream').forEach((li) => li.classList.toggle('watching', li.dataset.streamId === stream.streamId));
  }

  function showLatency(hls) {
    const video = $('video');
    const latency = hls.latency;
    $('latency').textContent = Number.isFinite(latency) && latency > 0
      ? `latency ≈ ${latency.toFixed(1)} s behind the live edge · playing ${video.currentTime.toFixed(1)} s`
      : 'buffering…';
  }

  function stopWatching() {
    const player = studio.player;
    studio.player = null;
    studio.watching = null;
    if (player === null) return;
    clearInterval(player.timer);
    if (player.hls) player.hls.destroy();
    $('video').removeAttribute('src');
    $('latency').textContent = '–';
  }

  function playerError(message) {
    const li = document.createElement('li');
    li.textContent = message;
    $('player-errors').prepend(li);
  }

  // ---- start -----------------------------------------------------------------------------------

  $('go-live').onclick = () => void goLive();
  $('stop').onclick = () => stopPublishing('stopped');
  $('login').onsubmit = useLogin;
  $('auth-method').onchange = authMethodChanged;
  window.addEventListener('pagehide', () => stopPublishing());
  void refresh();
  setInterval(refresh, POLL_MS);
})();
