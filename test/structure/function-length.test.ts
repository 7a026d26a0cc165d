/**
 * Functions a reader can hold: no function, method or arrow function in src/ or actors/ is longer
 * than 80 lines (signature to closing brace). Measured with the TypeScript parser on the sources.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '../../..');
const MAX_LINES = 80;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

function nameOf(node: ts.Node, file: ts.SourceFile): string {
  const named = node as ts.Node & { name?: ts.Node };
  if (named.name !== undefined) return named.name.getText(file);
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) return parent.name.getText(file);
  return '(anonymous)';
}

/** Every function-like node longer than `max` lines, as `file:line name (N lines)`. */
export function longFunctions(files: string[], max: number): string[] {
  const found: string[] = [];
  for (const fileName of files) {
    const file = ts.createSourceFile(fileName, fs.readFileSync(fileName, 'utf8'), ts.ScriptTarget.ES2022, true);
    const visit = (node: ts.Node): void => {
      if (ts.isFunctionLike(node) && (node as ts.FunctionLikeDeclaration).body !== undefined) {
        const start = file.getLineAndCharacterOfPosition(node.getStart(file)).line;
        const end = file.getLineAndCharacterOfPosition(node.getEnd()).line;
        if (end - start + 1 > max) found.push(`${path.relative(ROOT, fileName)}:${start + 1} ${nameOf(node, file)} (${end - start + 1} lines)`);
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  return found;
}

describe('structure: function length', () => {
  it(`no function in src/ or actors/ is longer than ${MAX_LINES} lines`, () => {
    const files = [...sourceFiles(path.join(ROOT, 'src')), ...sourceFiles(path.join(ROOT, 'actors'))];
    expect(files.length).to.be.greaterThan(50);
    expect(longFunctions(files, MAX_LINES)).to.deep.equal([]);
  });

  it('the measure finds a long function (so the check above can fail)', () => {
    const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'castline-fnlen-'));
    const file = path.join(dir, 'long.ts');
    fs.writeFileSync(file, `export function long(): number {\n${'  let a = 1;\n'.repeat(90)}  return 1;\n}\nexport const short = () => 1;\n`);
    expect(longFunctions([file], MAX_LINES)).to.deep.equal([`${path.relative(ROOT, file)}:1 long (93 lines)`]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
