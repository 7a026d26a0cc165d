/**
 * The parser of castline's config format: the mmids node grammar (docs/config-format.md),
 * used for the `CASTLINE_CONFIG` file and for `PUT /workflows` bodies.
 *
 *     settings {                                   # top-level nodes: settings, workflow, reactor
 *         ffmpeg_path "/opt/my ffmpeg/ffmpeg"      # (any case), `name args… {` on one line,
 *     }                                            # one child per line, `}` on its own line
 *     workflow live routed_by_reactor {
 *         rtmp_receive rtmp_app=* stream_key=*     # arguments: key=value, bare flags, "quoted"
 *         push target=rtmp://u:p%40ss@h/app/k?a=b  # values: any non-space text except `"`
 *     }
 *
 * Where mmids is brittle (docs/config-format.md) this parser is tolerant: indentation anywhere; `\n`, `\r\n`
 * or `\r` line endings; no newline needed at the end; a leading UTF-8 BOM; comments of any
 * characters, after `{`, a child or `}` (also at the end of the text); values with any character
 * but `"` and whitespace, where `#` starts a comment only at the start of a token (`x#y` stays a
 * value); quoted strings with the escapes `\"` and `\\` (any other backslash is kept as written);
 * `name {}` / `name { }` as an empty block on one line; `{` glued to the last header token
 * (`workflow live{`) or alone on the next line; a comment glued to a brace (`{# …`, `}# …`).
 *
 * Braces inside values are kept (`path=/x/{id}`, `json={}`), except that a child line whose last
 * token ends in `{` is refused as a nested block: quote such a value. Only `[A-Za-z0-9_.-]+` before
 * the first `=` makes a token `key=value`, so a URL with a query string is one flag.
 *
 * The parser is pure and stops at the first error: by line, and within a line a lexical error
 * (quote, control character) before a semantic one. Errors carry a code, 1-based line and column
 * (in code points, pointing at the offending token, or where a missing one was expected).
 */
import type {
  ConfigArgument,
  ConfigSyntaxErrorCode,
  ParsedConfigText,
  ReactorNode,
  SettingNode,
  StepNode,
  WorkflowNode,
} from './config-format.types';

export type {
  ConfigArgument,
  ConfigSyntaxErrorCode,
  ParsedConfigText,
  ReactorNode,
  SettingNode,
  StepNode,
  WorkflowNode,
} from './config-format.types';

export class ConfigSyntaxError extends Error {
  constructor(readonly code: ConfigSyntaxErrorCode, readonly line: number, readonly column: number, what: string) {
    super(`line ${line}, column ${column}: ${what}`);
    this.name = 'ConfigSyntaxError';
  }
}

/** Parses a whole config text; throws a ConfigSyntaxError for the first error. */
export function parseConfigText(text: string): ParsedConfigText {
  const body = text.charCodeAt(0) === BOM ? text.slice(1) : text;
  const lines = body.split(/\r\n|\r|\n/);
  const reader = new ConfigTextReader();
  for (let k = 0; k < lines.length; k++) reader.line(tokenize(lines[k]!, k + 1));
  return reader.end();
}

// ── tokens ───────────────────────────────────────────────────────────────────────────────────────

interface Position {
  line: number;
  column: number;
}

interface Token extends Position {
  /** The token as written in the source. */
  raw: string;
  /** A quoted flag: its unescaped content; otherwise `raw`. */
  text: string;
  /** The whole token is a quoted string (a quoted flag). */
  quoted: boolean;
  /** `key=value` (the value possibly quoted): its parts; otherwise both null. */
  key: string | null;
  value: string | null;
  /** The column just past the token. */
  end: number;
}

const BOM = 0xfeff;
const TAB = 0x09;
const SPACE = 0x20;
const QUOTE = 0x22;
const HASH = 0x23;
const EQUALS = 0x3d;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const DEL = 0x7f;
const UNICODE_SPACE = /\s/;
/** What may stand before `=` for a token to be `key=value`; otherwise the token is a flag, so a
 * URL such as `http://h/p?a=b` is one flag, not the key `http://h/p?a`. */
const KEY = /^[A-Za-z0-9_.-]+$/;
const WORKFLOW_NAME = /^[A-Za-z0-9_.-]+$/;
const UNSIGNED_INTEGER = /^[0-9]+$/;

/** Space, tab and every other Unicode whitespace (no line breaks reach here). */
function isSpace(c: number): boolean {
  if (c === SPACE || c === TAB) return true;
  if (c < 0x80) return c === 0x0b || c === 0x0c;
  return UNICODE_SPACE.test(String.fromCharCode(c));
}

function isControl(c: number): boolean {
  return c < 0x20 || c === DEL;
}

/** Code units taken by the code point at i (2 for a surrogate pair), so columns count code points. */
function unitsAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return 2;
  }
  return 1;
}

function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i += unitsAt(s, i)) n++;
  return n;
}

/** Splits one line into tokens, dropping whitespace and a comment. */
function tokenize(source: string, line: number): Token[] {
  const tokens: Token[] = [];
  const n = source.length;
  let i = 0;
  let column = 1;
  while (i < n) {
    const c = source.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      column++;
      continue;
    }
    if (c === HASH) break; // a comment: any characters up to the end of the line
    if ((c === OPEN_BRACE || c === CLOSE_BRACE) && source.charCodeAt(i + 1) === HASH) {
      tokens.push(unquotedToken(source[i]!, line, column)); // `{# …` and `}# …`: a brace, then a comment
      break;
    }
    const start = i;
    const startColumn = column;
    if (c === QUOTE) {
      const q = readQuoted(source, i, line, column);
      i = q.index;
      column = q.column;
      expectSpaceAfterQuote(source, i, line, column);
      tokens.push({ raw: source.slice(start, i), text: q.text, quoted: true, key: null, value: null, line, column: startColumn, end: column });
      continue;
    }
    let equals = -1;
    let quotedValue: string | null = null;
    while (i < n) {
      const d = source.charCodeAt(i);
      if (isSpace(d)) break;
      if (d === QUOTE) {
        if (equals === i - 1 && KEY.test(source.slice(start, equals))) {
          const q = readQuoted(source, i, line, column);
          i = q.index;
          column = q.column;
          quotedValue = q.text;
          expectSpaceAfterQuote(source, i, line, column);
          break;
        }
        throw new ConfigSyntaxError('MISPLACED_QUOTE', line, column,
          `unexpected \`"\` inside ${show(source.slice(start, i + 1))}: a quote may only open an argument or follow \`key=\`; quote the whole value instead`);
      }
      if (isControl(d)) {
        throw new ConfigSyntaxError('INVALID_CHARACTER', line, column, `the control character ${codePointName(d)} is not allowed outside quotes and comments`);
      }
      if (d === EQUALS && equals < 0) equals = i;
      i += unitsAt(source, i);
      column++;
    }
    const raw = source.slice(start, i);
    if (quotedValue !== null) {
      tokens.push({ raw, text: raw, quoted: false, key: source.slice(start, equals), value: quotedValue, line, column: startColumn, end: column });
    } else {
      tokens.push(unquotedToken(raw, line, startColumn));
    }
  }
  return tokens;
}

/** An unquoted token: `key=value` when a valid key stands before its first `=`, else a flag. */
function unquotedToken(raw: string, line: number, column: number): Token {
  const equals = raw.indexOf('=');
  const isPair = equals > 0 && KEY.test(raw.slice(0, equals));
  return {
    raw,
    text: raw,
    quoted: false,
    key: isPair ? raw.slice(0, equals) : null,
    value: isPair ? raw.slice(equals + 1) : null,
    line,
    column,
    end: column + codePoints(raw),
  };
}

/** Reads `"…"` starting at the opening quote; `\"` and `\\` are escapes, any other `\` is kept. */
function readQuoted(source: string, open: number, line: number, openColumn: number): { text: string; index: number; column: number } {
  const n = source.length;
  let text = '';
  let from = open + 1;
  let i = from;
  let column = openColumn + 1;
  while (i < n) {
    const c = source.charCodeAt(i);
    if (c === BACKSLASH) {
      const d = source.charCodeAt(i + 1);
      if (d === QUOTE || d === BACKSLASH) {
        text += source.slice(from, i) + source[i + 1]!;
        i += 2;
        column += 2;
        from = i;
        continue;
      }
    }
    if (c === QUOTE) return { text: text + source.slice(from, i), index: i + 1, column: column + 1 };
    i += unitsAt(source, i);
    column++;
  }
  throw new ConfigSyntaxError('UNTERMINATED_QUOTE', line, openColumn, 'this quoted string has no closing `"` on its line');
}

function expectSpaceAfterQuote(source: string, i: number, line: number, column: number): void {
  if (i < source.length && !isSpace(source.charCodeAt(i))) {
    throw new ConfigSyntaxError('TEXT_AFTER_QUOTE', line, column,
      `unexpected ${show(source.slice(i, i + unitsAt(source, i)))} right after a closing quote: separate arguments (and \`{\`, \`#\`) with a space`);
  }
}

// ── blocks ───────────────────────────────────────────────────────────────────────────────────────

type Kind = 'settings' | 'workflow' | 'reactor';

interface Header {
  kind: Kind;
  keyword: Token;
  args: Token[];
  /** Where `{` (or the name) was expected when the header line has none: just past its last token. */
  missing: Position;
}

interface Block {
  header: Header;
  brace: Position;
  /** Where the steps go; null for settings (added to the flat list) and reactor blocks. */
  workflow: WorkflowNode | null;
  /** Where a reactor block's parameters go; null for the others. */
  reactor: ReactorNode | null;
  label: string;
}

/** A header line split at its trailing `{`: the words before it, where it sits, whether `}` closes it. */
interface TrailingBrace {
  words: Token[];
  brace: Position;
  closed: boolean;
}

function isRaw(t: Token, raw: string): boolean {
  return !t.quoted && t.raw === raw;
}

function keywordOf(t: Token): Kind | null {
  if (t.quoted) return null;
  const word = t.raw.toLowerCase();
  return word === 'settings' || word === 'workflow' || word === 'reactor' ? word : null;
}

/** An unquoted token ending in `{`: the brace's column and the text before it ('' for `{` alone). */
function openBraceIn(t: Token, suffix: '{' | '{}'): { before: string; column: number } | null {
  if (t.quoted || !t.raw.endsWith(suffix)) return null;
  const before = t.raw.slice(0, t.raw.length - suffix.length);
  return { before, column: t.column + codePoints(before) };
}

/** Finds the `{` that ends a header line (`… {`, `… { }`, `… {}`, `…x{`, `…x{}`). */
function trailingBrace(tokens: Token[]): TrailingBrace | null {
  const last = tokens[tokens.length - 1]!;
  const split = (rest: Token[], t: Token, found: { before: string; column: number }, closed: boolean): TrailingBrace => ({
    words: found.before === '' ? rest : [...rest, unquotedToken(found.before, t.line, t.column)],
    brace: { line: t.line, column: found.column },
    closed,
  });
  if (tokens.length >= 2 && isRaw(last, '}')) {
    const t = tokens[tokens.length - 2]!;
    const found = openBraceIn(t, '{');
    if (found !== null) return split(tokens.slice(0, -2), t, found, true);
  }
  const closedFound = openBraceIn(last, '{}');
  if (closedFound !== null) return split(tokens.slice(0, -1), last, closedFound, true);
  const found = openBraceIn(last, '{');
  if (found !== null) return split(tokens.slice(0, -1), last, found, false);
  return null;
}

class ConfigTextReader {
  private readonly settings: SettingNode[] = [];
  private readonly workflows: WorkflowNode[] = [];
  private readonly reactors: ReactorNode[] = [];
  private readonly workflowByName = new Map<string, WorkflowNode>();
  private readonly reactorByName = new Map<string, ReactorNode>();
  private block: Block | null = null;
  /** A header line without `{`: the next significant line must be `{` (or `{ }`). */
  private awaiting: Header | null = null;

  line(tokens: Token[]): void {
    if (tokens.length === 0) return;
    if (this.awaiting !== null) {
      const header = this.awaiting;
      this.awaiting = null;
      const first = tokens[0]!;
      if (isRaw(first, '{}')) this.open(header, first, closesAfter(tokens, 1, true));
      else if (isRaw(first, '{')) this.open(header, first, closesAfter(tokens, 1, false));
      else throw missingOpenBrace(header);
    } else if (this.block !== null) {
      this.child(this.block, tokens);
    } else {
      this.topLevel(tokens);
    }
  }

  end(): ParsedConfigText {
    if (this.awaiting !== null) throw missingOpenBrace(this.awaiting);
    if (this.block !== null) {
      const { brace, label } = this.block;
      throw new ConfigSyntaxError('UNTERMINATED_BLOCK', brace.line, brace.column,
        `the ${label} block opened here is never closed: add a line with \`}\` after its last child`);
    }
    return { settings: this.settings, workflows: this.workflows, reactors: this.reactors };
  }

  private topLevel(tokens: Token[]): void {
    const first = tokens[0]!;
    if (!first.quoted && first.raw.startsWith('}')) throw new ConfigSyntaxError('UNEXPECTED_CLOSE_BRACE', first.line, first.column, '`}` without an open block');
    const trailing = trailingBrace(tokens);
    const words = trailing === null ? tokens : trailing.words;
    const head = words[0];
    if (head === undefined || isRaw(head, '{')) {
      throw new ConfigSyntaxError('UNKNOWN_NODE', first.line, first.column, 'a block needs a node name before `{`: `settings`, `workflow` or `reactor`');
    }
    const kind = keywordOf(head);
    if (kind === null) {
      if (trailing !== null || words.some((t) => openBraceIn(t, '{') !== null || openBraceIn(t, '{}') !== null)) {
        throw new ConfigSyntaxError('UNKNOWN_NODE', head.line, head.column,
          `unknown node ${show(head.raw)}: the top-level nodes are \`settings\`, \`workflow\` and \`reactor\``);
      }
      throw new ConfigSyntaxError('CHILD_OUTSIDE_BLOCK', head.line, head.column,
        `${show(head.raw)} is outside any block: steps and settings go between a header line ending in \`{\` and a \`}\` line`);
    }
    const args = words.slice(1);
    for (let k = 0; k < args.length; k++) {
      const t = args[k]!;
      if (isRaw(t, '}')) throw misplacedCloseBrace(t);
      if (openBraceIn(t, '{') !== null || openBraceIn(t, '{}') !== null) {
        const next: Position = args[k + 1] ?? trailing?.brace ?? t;
        throw new ConfigSyntaxError('TEXT_AFTER_BRACE', next.line, next.column,
          'only a comment (or `}` for an empty block) may follow `{` on a header line: put each child on its own line');
      }
    }
    const last = tokens[tokens.length - 1]!;
    const header: Header = { kind, keyword: head, args, missing: { line: last.line, column: last.end } };
    if (trailing === null) this.awaiting = header;
    else this.open(header, trailing.brace, trailing.closed);
  }

  /** Checks a complete header and opens its block (or records the empty block `{ }`). */
  private open(header: Header, brace: Position, closed: boolean): void {
    const { kind, keyword, args } = header;
    // where a missing name was expected: the `{` when it is on the header line
    const expected: Position = brace.line === keyword.line ? brace : header.missing;
    let workflow: WorkflowNode | null = null;
    let reactor: ReactorNode | null = null;
    let label = `\`${kind}\``;
    if (kind === 'settings') {
      if (args.length > 0) {
        throw new ConfigSyntaxError('SETTINGS_ARGUMENTS', args[0]!.line, args[0]!.column,
          `\`settings\` takes no arguments (found ${show(args[0]!.raw)}): write each setting on its own line inside the block`);
      }
    } else if (kind === 'workflow') {
      const name = workflowName(args[0], expected);
      const previous = this.workflowByName.get(name);
      if (previous !== undefined) {
        throw new ConfigSyntaxError('WORKFLOW_NAME_DUPLICATE', args[0]!.line, args[0]!.column,
          `a workflow named ${show(name)} is already defined at line ${previous.line}`);
      }
      const flags = args.slice(1).map(toArgument);
      const routed = args.slice(1).find((t) => t.key === 'routed_by_reactor');
      if (routed !== undefined) {
        throw new ConfigSyntaxError('ROUTED_BY_REACTOR_VALUE', routed.line, routed.column, '`routed_by_reactor` is a flag and takes no value');
      }
      workflow = { name, flags, steps: [], line: keyword.line, column: keyword.column };
      this.workflowByName.set(name, workflow);
      this.workflows.push(workflow);
      label = `\`workflow ${name}\``;
    } else {
      reactor = this.reactorHeader(keyword, args, expected);
      label = `\`reactor ${reactor.name}\``;
    }
    if (!closed) this.block = { header, brace, workflow, reactor, label };
  }

  private reactorHeader(keyword: Token, args: Token[], expected: Position): ReactorNode {
    const nameToken = args[0];
    if (nameToken === undefined) {
      throw new ConfigSyntaxError('REACTOR_NAME_MISSING', expected.line, expected.column, 'a reactor needs a name: `reactor <name> executor=<executor> {`');
    }
    if (nameToken.key !== null) {
      throw new ConfigSyntaxError('REACTOR_NAME_INVALID', nameToken.line, nameToken.column,
        `the reactor name comes first and is a plain word, not the key=value argument ${show(nameToken.raw)}`);
    }
    const name = nameToken.text;
    const previous = this.reactorByName.get(name);
    if (previous !== undefined) {
      throw new ConfigSyntaxError('REACTOR_NAME_DUPLICATE', nameToken.line, nameToken.column,
        `a reactor named ${show(name)} is already defined at line ${previous.line}`);
    }
    const rest = args.slice(1);
    for (const t of rest) {
      if ((t.key ?? t.text) === 'update_interval' && (t.value === null || !UNSIGNED_INTEGER.test(t.value))) {
        throw new ConfigSyntaxError('REACTOR_UPDATE_INTERVAL_INVALID', t.line, t.column,
          `\`update_interval\` must be a whole number of seconds, e.g. \`update_interval=15\` (found ${show(t.raw)})`);
      }
    }
    if (!rest.some((t) => t.key === 'executor' && t.value !== '')) {
      const bare = rest.find((t) => (t.key ?? t.text) === 'executor');
      const at: Position = bare ?? expected;
      throw new ConfigSyntaxError('REACTOR_EXECUTOR_MISSING', at.line, at.column,
        `reactor ${show(name)} needs an executor: \`reactor ${name} executor=simple_http {\``);
    }
    const executor = rest.find((t) => t.key === 'executor')!.value!;
    const interval = rest.find((t) => t.key === 'update_interval');
    const reactor: ReactorNode = {
      name, executor, updateIntervalSeconds: interval === undefined ? 0 : Number(interval.value),
      parameters: {}, line: keyword.line, column: keyword.column,
    };
    this.reactorByName.set(name, reactor);
    this.reactors.push(reactor);
    return reactor;
  }

  private child(block: Block, tokens: Token[]): void {
    const first = tokens[0]!;
    if (!first.quoted && first.raw.startsWith('}')) {
      const next: Position | undefined = first.raw.length > 1 ? { line: first.line, column: first.column + 1 } : tokens[1];
      if (next !== undefined) throw new ConfigSyntaxError('TEXT_AFTER_BRACE', next.line, next.column, 'only a comment may follow `}` on its line');
      this.block = null;
      return;
    }
    for (let k = 0; k < tokens.length; k++) {
      const t = tokens[k]!;
      const isLast = k === tokens.length - 1;
      // `{` or `{}` alone, or a line ending in `{`, would open a block; `a={}` mid-line is a value
      const brace = isRaw(t, '{') || isRaw(t, '{}') ? { before: '', column: t.column } : isLast ? openBraceIn(t, '{') : null;
      if (brace !== null) {
        const hint = keywordOf(first) !== null
          ? `: is the \`}\` closing the ${block.label} block (line ${block.brace.line}) missing before this line?`
          : ': put the arguments of a child on its own line, without `{`';
        throw new ConfigSyntaxError('NESTED_BLOCK', t.line, brace.column, `blocks can't be nested${hint}`);
      }
      if (isRaw(t, '}')) throw misplacedCloseBrace(t);
    }
    const kind = block.header.kind;
    const what = kind === 'workflow' ? 'a step type' : kind === 'settings' ? 'a setting name' : 'a reactor parameter name';
    if (first.quoted || first.key !== null) {
      const form = kind === 'workflow' ? '`step_type key=value …`' : '`name value`';
      throw new ConfigSyntaxError('INVALID_CHILD_NAME', first.line, first.column,
        `${show(first.raw)} is not ${what}: a child line starts with a plain word, then its arguments (${form})`);
    }
    const args = tokens.slice(1);
    if (kind === 'workflow') {
      const step: StepNode = { type: first.text, args: args.map(toArgument), line: first.line, column: first.column };
      block.workflow!.steps.push(step);
    } else if (kind === 'settings') {
      const value = singleValue(args, first, 'SETTING_TOO_MANY_VALUES', 'SETTING_VALUE_FORMAT', 'setting');
      this.settings.push({ name: first.text, value, line: first.line, column: first.column });
    } else {
      const value = singleValue(args, first, 'REACTOR_PARAMETER_TOO_MANY_VALUES', 'REACTOR_PARAMETER_VALUE_FORMAT', 'reactor parameter');
      block.reactor!.parameters[first.text] = value;
    }
  }
}

/** `{`, `{ }` or `{}` alone on the line after a header: whether the block closes at once. */
function closesAfter(tokens: Token[], from: number, closed: boolean): boolean {
  const rest = tokens.slice(from);
  if (rest.length === 0) return closed;
  if (!closed && rest.length === 1 && isRaw(rest[0]!, '}')) return true;
  const t = !closed && isRaw(rest[0]!, '}') ? rest[1]! : rest[0]!;
  throw new ConfigSyntaxError('TEXT_AFTER_BRACE', t.line, t.column,
    'only a comment (or `}` for an empty block) may follow `{` on its line: put each child on its own line');
}

function workflowName(t: Token | undefined, expected: Position): string {
  if (t === undefined) {
    throw new ConfigSyntaxError('WORKFLOW_NAME_MISSING', expected.line, expected.column, 'a workflow needs a name: `workflow <name> {`');
  }
  if (t.key !== null) {
    throw new ConfigSyntaxError('WORKFLOW_NAME_INVALID', t.line, t.column,
      `the workflow name comes first and is a plain word, not the key=value argument ${show(t.raw)}`);
  }
  if (!WORKFLOW_NAME.test(t.text) || t.text === '.' || t.text === '..') {
    throw new ConfigSyntaxError('WORKFLOW_NAME_INVALID', t.line, t.column,
      `the workflow name ${show(t.text)} can't be used in a URL: use only letters, digits, \`_\`, \`.\` and \`-\` (and not \`.\` or \`..\`)`);
  }
  return t.text;
}

/** The one optional value of a setting or reactor parameter: a plain or quoted word, never key=value. */
function singleValue(args: Token[], name: Token, tooMany: ConfigSyntaxErrorCode, format: ConfigSyntaxErrorCode, what: string): string | null {
  if (args.length > 1) {
    const t = args[1]!;
    throw new ConfigSyntaxError(tooMany, t.line, t.column,
      `the ${what} ${show(name.text)} takes at most one value (found a second one, ${show(t.raw)}); quote a value that contains spaces`);
  }
  const value = args[0];
  if (value === undefined) return null;
  if (value.key !== null) {
    throw new ConfigSyntaxError(format, value.line, value.column,
      `the ${what} ${show(name.text)} takes a plain value, not the key=value argument ${show(value.raw)}: write \`${name.text} <value>\`, or quote the value`);
  }
  return value.text;
}

function toArgument(t: Token): ConfigArgument {
  return t.key !== null ? { key: t.key, value: t.value, line: t.line, column: t.column } : { key: t.text, value: null, line: t.line, column: t.column };
}

function missingOpenBrace(h: Header): ConfigSyntaxError {
  return new ConfigSyntaxError('MISSING_OPEN_BRACE', h.missing.line, h.missing.column,
    `expected \`{\` at the end of the \`${h.keyword.raw}\` header line`);
}

function misplacedCloseBrace(t: Token): ConfigSyntaxError {
  return new ConfigSyntaxError('MISPLACED_CLOSE_BRACE', t.line, t.column, '`}` must be on a line of its own');
}

/** Some source text for a message: in backticks, control characters escaped, long text cut. */
function show(s: string): string {
  const chars = Array.from(s);
  const cut = chars.length > 40 ? `${chars.slice(0, 39).join('')}…` : s;
  return `\`${cut.replace(/[\u0000-\u001f\u007f]/g, (ch) => codePointName(ch.charCodeAt(0)))}\``;
}

function codePointName(c: number): string {
  return `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
}
