import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { VARIABLES } from '../src/config/config';

describe('README', () => {
  const readme = fs.readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');

  it('documents every configuration variable with its default', () => {
    for (const v of VARIABLES) expect(readme, v.name).to.include(`| \`${v.name}\` |`);
  });

  it('shows the two commands', () => {
    expect(readme).to.include('npm install && npm start');
    expect(readme).to.include('npm test');
  });
});
