/**
 * A pool closed at any moment never takes the process down. Each case runs in a child process,
 * because the failure it guards against is an abort (a native addon's assertion in a worker
 * thread terminated while the addon initialised), which would end the test run itself.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { encodingConfig, tempRoot } from './helpers';

const POOL_MODULE = path.resolve(__dirname, '../../src/encoding/pool.js');

function runChild(body: string): { status: number | null; signal: string | null; stdout: string; stderr: string } {
  const script = `
    const { EncoderPool } = require(${JSON.stringify(POOL_MODULE)});
    const fs = require('node:fs');
    const encoding = ${JSON.stringify(encodingConfig())};
    const root = ${JSON.stringify(tempRoot())};
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    (async () => { ${body} })().catch((e) => { console.error(e); process.exit(2); });`;
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  return { status: child.status, signal: child.signal, stdout: child.stdout, stderr: child.stderr };
}

describe('encoder pool shutdown', function () {
  this.timeout(90_000);

  it('its worker threads load no native addon (ws runs without bufferutil there)', () => {
    const child = runChild(`
      const pool = new EncoderPool({ storageRoot: root, encoding });
      await sleep(1000); // the encode pool keeps one thread: it has loaded the worker module by now
      const natives = fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.endsWith('.node'));
      console.log(JSON.stringify(natives.map((l) => l.split(/\\s+/).pop())));
      await pool.close();`);
    expect(child.status, child.stderr).to.equal(0);
    expect(JSON.parse(child.stdout.trim())).to.deep.equal([]);
  });

  it('100 pools closed at moments swept across worker start-up: the process exits cleanly', () => {
    // Before the fix about half of such runs aborted ("bufferutil.c: Init: Assertion ... failed").
    const child = runChild(`
      for (let i = 0; i < 100; i++) {
        const pool = new EncoderPool({ storageRoot: root, encoding });
        await sleep(20 + (i * 0.6) % 60);
        await pool.close();
      }
      console.log('done');`);
    expect({ status: child.status, signal: child.signal, stderr: child.stderr }).to.deep.equal({ status: 0, signal: null, stderr: '' });
    expect(child.stdout.trim()).to.equal('done');
  });
});
