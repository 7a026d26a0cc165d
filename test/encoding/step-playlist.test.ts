import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { endHlsPlaylistSync, readWholePlaylist } from '../../src/encoding/step-playlist';
import { tempRoot } from './helpers';

describe('step-playlist: ENDLIST for a killed ffmpeg_hls step', () => {
  let root: string;
  let file: string;
  const live = '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:1.000000,\ncam-0.ts\n';
  beforeEach(() => { root = tempRoot(); file = path.join(root, 'cam.m3u8'); });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('appends ENDLIST to a live playlist, once', () => {
    fs.writeFileSync(file, live);
    expect(endHlsPlaylistSync(file)).to.equal(true);
    expect(fs.readFileSync(file, 'utf8')).to.equal(`${live}#EXT-X-ENDLIST\n`);
    expect(endHlsPlaylistSync(file)).to.equal(false);
    expect(fs.readFileSync(file, 'utf8')).to.equal(`${live}#EXT-X-ENDLIST\n`);
  });

  it('no playlist, no snapshot: nothing written', () => {
    expect(endHlsPlaylistSync(file)).to.equal(false);
    expect(fs.existsSync(file)).to.equal(false);
  });

  it('a playlist cut by a kill (empty or half-written) is restored from the snapshot, then ended', () => {
    for (const broken of ['', '#EXTM3U\n#EXT-X-VERS']) {
      fs.writeFileSync(file, broken);
      expect(readWholePlaylist(file)).to.equal(null);
      expect(endHlsPlaylistSync(file, live)).to.equal(true);
      expect(fs.readFileSync(file, 'utf8')).to.equal(`${live}#EXT-X-ENDLIST\n`);
    }
    expect(fs.readdirSync(root)).to.deep.equal(['cam.m3u8']);
  });

  it('a whole current playlist wins over an older snapshot', () => {
    const newer = `${live}#EXTINF:1.000000,\ncam-1.ts\n`;
    fs.writeFileSync(file, newer);
    endHlsPlaylistSync(file, live);
    expect(fs.readFileSync(file, 'utf8')).to.equal(`${newer}#EXT-X-ENDLIST\n`);
  });
});
