import { expect } from 'chai';
import {
  ConfigSyntaxError,
  parseConfigText,
  type ConfigArgument,
  type ConfigSyntaxErrorCode,
  type ParsedConfigText,
} from '../../src/config/config-format';

/** An argument in the tables: a flag as its text, `key=value` as [key, value]. */
type Arg = string | [string, string];
interface Shape {
  settings: Array<[string, string | null]>;
  workflows: Array<{ name: string; flags: Arg[]; steps: Array<[string, ...Arg[]]> }>;
  reactors: string[];
}

const arg = (a: ConfigArgument): Arg => (a.value === null ? a.key : [a.key, a.value]);
/** The parse result without positions (positions have their own table). */
function shape(p: ParsedConfigText): Shape {
  return {
    settings: p.settings.map((s) => [s.name, s.value]),
    workflows: p.workflows.map((w) => ({ name: w.name, flags: w.flags.map(arg), steps: w.steps.map((s): [string, ...Arg[]] => [s.type, ...s.args.map(arg)]) })),
    reactors: p.reactors.map((r) => r.name),
  };
}
const none: Shape = { settings: [], workflows: [], reactors: [] };
const workflows = (...w: Shape['workflows']): Shape => ({ ...none, workflows: w });
const settings = (...s: Shape['settings']): Shape => ({ ...none, settings: s });

const DEFAULT_WORKFLOW = [
  'workflow live {',
  '    rtmp_receive rtmp_app=* stream_key=*',
  '    ws_receive channel=*',
  '    verify_key',
  '    hls_ladder',
  '}',
].join('\n');
const LIVE: Shape = workflows({
  name: 'live',
  flags: [],
  steps: [['rtmp_receive', ['rtmp_app', '*'], ['stream_key', '*']], ['ws_receive', ['channel', '*']], ['verify_key'], ['hls_ladder']],
});

/** anchor-mmids.md §2.1, as written there. */
const MMIDS_EXAMPLE = `settings {
    ffmpeg_path /usr/bin/ffmpeg       # comment
    http_api_port 9011
}

reactor lookup executor=simple_http update_interval=15 {
    url http://localhost:9055/test?a=b&c=d
}

workflow basic routed_by_reactor {
    rtmp_receive rtmp_app=live stream_key=* allow_ips=10.0.0.0/24 rtmps
    ffmpeg_hls path=/var/hls duration=2 count=5
}
`;

const VALID: Array<[string, string, Shape]> = [
  ['the mmids example (anchor §2.1)', MMIDS_EXAMPLE, {
    settings: [['ffmpeg_path', '/usr/bin/ffmpeg'], ['http_api_port', '9011']],
    workflows: [{
      name: 'basic',
      flags: ['routed_by_reactor'],
      steps: [
        ['rtmp_receive', ['rtmp_app', 'live'], ['stream_key', '*'], ['allow_ips', '10.0.0.0/24'], 'rtmps'],
        ['ffmpeg_hls', ['path', '/var/hls'], ['duration', '2'], ['count', '5']],
      ],
    }],
    reactors: ['lookup'],
  }],
  ['the default castline workflow', DEFAULT_WORKFLOW, LIVE],
  ['an empty text', '', none],
  ['only blank lines, spaces and comments', '\n   \n# one\n\t# two ?&!\n', none],
  // tolerances (anchor §2.2, §7.6)
  ['leading whitespace before top-level nodes', '  workflow live {\n    verify_key\n  }\n\tsettings {\n\t\ta 1\n\t}', {
    ...none, settings: [['a', '1']], workflows: [{ name: 'live', flags: [], steps: [['verify_key']] }],
  }],
  ['\\r\\n line endings', DEFAULT_WORKFLOW.replace(/\n/g, '\r\n') + '\r\n', LIVE],
  ['\\r line endings', DEFAULT_WORKFLOW.replace(/\n/g, '\r') + '\r', LIVE],
  ['mixed line endings', 'workflow live {\r\n    rtmp_receive rtmp_app=* stream_key=*\r    ws_receive channel=*\n    verify_key\r\n    hls_ladder\n}', LIVE],
  ['no newline at the end', DEFAULT_WORKFLOW, LIVE],
  ['a comment after } at the end, no newline', `${DEFAULT_WORKFLOW} # the end`, LIVE],
  ['a comment glued to { and to } (a brace is a token of its own)', 'workflow live {#opens\n    rtmp_receive rtmp_app=* stream_key=*\n    ws_receive channel=*\n    verify_key\n    hls_ladder\n}#the end', LIVE],
  ['comments with any character', '# is this ok? a&b! @%+;[] é 中文 🎥 "quote {brace}\nworkflow x { # ok? yes!\n  step # café & co?\n} # done!', workflows({ name: 'x', flags: [], steps: [['step']] })],
  ['values with any non-space character', 'workflow x {\n  push target=rtmp://user:p%40ss@host/app/key?a=b&c=d+e ~!$^|;[]()\'=x\n}', workflows({
    name: 'x', flags: [], steps: [['push', ['target', 'rtmp://user:p%40ss@host/app/key?a=b&c=d+e'], "~!$^|;[]()'=x"]],
  })],
  ['# inside a token stays in the value; # at a token start is a comment', 'workflow x {\n  s url=http://h/p#frag a#b key=#x #c d\n}', workflows({
    name: 'x', flags: [], steps: [['s', ['url', 'http://h/p#frag'], 'a#b', ['key', '#x']]],
  })],
  ['non-ASCII values and flags', 'workflow x {\n  s title=Café 東京 🎥=1\n}', workflows({ name: 'x', flags: [], steps: [['s', ['title', 'Café'], '東京', '🎥=1']] })],
  ['braces inside values', 'workflow x {\n  s path=/x/{id}/y {a} a}b json={} x{y\n}', workflows({ name: 'x', flags: [], steps: [['s', ['path', '/x/{id}/y'], '{a}', 'a}b', ['json', '{}'], 'x{y']] })],
  ['quoted values and flags, with escapes', String.raw`workflow x {
  s a="two words" b="" "a flag" c="say \"hi\"" d="back\\slash" e="# = { } ? é"
}`, workflows({
    name: 'x', flags: [], steps: [['s', ['a', 'two words'], ['b', ''], 'a flag', ['c', 'say "hi"'], ['d', 'back\\slash'], ['e', '# = { } ? é']]],
  })],
  ['a backslash before anything else than " or \\ is kept', String.raw`workflow x {
  s "C:\program files\x.exe" p=C:\dir\n
}`, workflows({ name: 'x', flags: [], steps: [['s', 'C:\\program files\\x.exe', ['p', 'C:\\dir\\n']]] })],
  ['an empty workflow on one line: { }', 'workflow x { }', workflows({ name: 'x', flags: [], steps: [] })],
  ['an empty workflow on one line: {}', 'workflow x {}\nworkflow y{}', workflows({ name: 'x', flags: [], steps: [] }, { name: 'y', flags: [], steps: [] })],
  ['empty blocks of every kind', 'settings { }\nreactor r executor=e {}\nworkflow w {\n}', {
    settings: [], workflows: [{ name: 'w', flags: [], steps: [] }], reactors: ['r'],
  }],
  ['{ glued to the last header word', 'workflow live{\n  verify_key\n}\nsettings{\n  a\n}', {
    ...none, settings: [['a', null]], workflows: [{ name: 'live', flags: [], steps: [['verify_key']] }],
  }],
  ['{ alone on the line after the header (after blank and comment lines)', 'workflow live routed_by_reactor\n\n# here it comes\n{\n  verify_key\n}\nworkflow e\n{ }', workflows(
    { name: 'live', flags: ['routed_by_reactor'], steps: [['verify_key']] },
    { name: 'e', flags: [], steps: [] },
  )],
  ['a UTF-8 BOM at the start', `\uFEFF${DEFAULT_WORKFLOW}`, LIVE],
  ['keywords in any case; names and step types keep theirs', 'WORKFLOW Live {\n  Verify_Key\n}\nSettings {\n  A b\n}\nReactor R executor=x {\n}', {
    settings: [['A', 'b']], workflows: [{ name: 'Live', flags: [], steps: [['Verify_Key']] }], reactors: ['R'],
  }],
  ['tabs and other Unicode spaces separate tokens', 'workflow\tx\u00A0{\n\tstep\ta=1\u2003b=2\u3000c\n}', workflows({ name: 'x', flags: [], steps: [['step', ['a', '1'], ['b', '2'], 'c']] })],
  ['repeated keys are all kept, in order', 'workflow x {\n  s a=1 b=2 a=3 flag flag\n}', workflows({ name: 'x', flags: [], steps: [['s', ['a', '1'], ['b', '2'], ['a', '3'], 'flag', 'flag']] })],
  ['key=value edge cases', 'workflow x {\n  s a=b=c k= =x http://h/p?a=b my-key.v2=ok\n}', workflows({
    name: 'x', flags: [], steps: [['s', ['a', 'b=c'], ['k', ''], '=x', 'http://h/p?a=b', ['my-key.v2', 'ok']]],
  })],
  ['workflow names with . _ - and quoted names', 'workflow a.b_c-1 {\n}\nworkflow "quoted" {\n}', workflows(
    { name: 'a.b_c-1', flags: [], steps: [] },
    { name: 'quoted', flags: [], steps: [] },
  )],
  ['workflow header flags are kept as written (the consumer decides)', 'workflow x routed_by_reactor other k=v "q f" {\n}', workflows({
    name: 'x', flags: ['routed_by_reactor', 'other', ['k', 'v'], 'q f'], steps: [],
  })],
  ['settings: several blocks, bare, quoted and URL values kept in order', 'settings {\n  a 1\n  bare\n}\nsettings {\n  path "/opt/my ffmpeg/ffmpeg"\n  url http://h/p?a=b&c=d\n  a 2\n}', settings(
    ['a', '1'], ['bare', null], ['path', '/opt/my ffmpeg/ffmpeg'], ['url', 'http://h/p?a=b&c=d'], ['a', '2'],
  )],
  ['reactors: parameters with one value or none', 'reactor r executor=simple_http update_interval=0 extra {\n  url http://h/x?a=b\n  flag\n  name "two words"\n}', { ...none, reactors: ['r'] }],
  ['several workflows, steps in order', 'workflow a {\n  s1\n  s2 x=1\n}\n\nworkflow b {\n  s3\n}', workflows(
    { name: 'a', flags: [], steps: [['s1'], ['s2', ['x', '1']]] },
    { name: 'b', flags: [], steps: [['s3']] },
  )],
  ['a step named like a keyword is a step', 'workflow x {\n  settings\n  workflow y\n}', workflows({ name: 'x', flags: [], steps: [['settings'], ['workflow', 'y']] })],
  ['control characters and anything else inside quotes and comments', 'workflow x {\n  s "a\u0001b" # \u0000\u0007\n}', workflows({ name: 'x', flags: [], steps: [['s', 'a\u0001b']] })],
];

/** [what, text, line, column, code, message after `line L, column C: `] */
const INVALID: Array<[string, string, number, number, ConfigSyntaxErrorCode, string]> = [
  // characters and tokens
  ['a control character in a value', 'workflow x {\n  s a=b\u0001c\n}', 2, 8, 'INVALID_CHARACTER',
    'the control character U+0001 is not allowed outside quotes and comments'],
  ['an unterminated quote (column of the opening quote)', 'workflow x {\n  s a="abc\n}', 2, 7, 'UNTERMINATED_QUOTE',
    'this quoted string has no closing `"` on its line'],
  ['an escaped closing quote leaves the string open', String.raw`workflow x {
  s "C:\dir\"
}`, 2, 5, 'UNTERMINATED_QUOTE', 'this quoted string has no closing `"` on its line'],
  ['a quote inside a value', 'workflow x {\n  s a=b"c"\n}', 2, 8, 'MISPLACED_QUOTE',
    'unexpected `"` inside `a=b"`: a quote may only open an argument or follow `key=`; quote the whole value instead'],
  ['a quote after a non-key', 'workflow x {\n  s http://h?a="b"\n}', 2, 16, 'MISPLACED_QUOTE',
    'unexpected `"` inside `http://h?a="`: a quote may only open an argument or follow `key=`; quote the whole value instead'],
  ['text glued to a closing quote', 'workflow x {\n  s "a"b\n}', 2, 8, 'TEXT_AFTER_QUOTE',
    'unexpected `b` right after a closing quote: separate arguments (and `{`, `#`) with a space'],
  ['# glued to a closing quote', 'workflow x {\n  s a="b"#c\n}', 2, 10, 'TEXT_AFTER_QUOTE',
    'unexpected `#` right after a closing quote: separate arguments (and `{`, `#`) with a space'],
  // block structure
  ['an unknown top-level node', '# c\nworkflows x {\n}', 2, 1, 'UNKNOWN_NODE',
    'unknown node `workflows`: the top-level nodes are `settings`, `workflow` and `reactor`'],
  ['a quoted keyword is not a keyword', '"workflow" x {\n}', 1, 1, 'UNKNOWN_NODE',
    'unknown node `"workflow"`: the top-level nodes are `settings`, `workflow` and `reactor`'],
  ['{ with no node name', '  {\n}', 1, 3, 'UNKNOWN_NODE', 'a block needs a node name before `{`: `settings`, `workflow` or `reactor`'],
  ['a child line outside any block', `${DEFAULT_WORKFLOW}\n    hls_ladder`, 7, 5, 'CHILD_OUTSIDE_BLOCK',
    '`hls_ladder` is outside any block: steps and settings go between a header line ending in `{` and a `}` line'],
  ['a header without {', 'workflow live\n  verify_key\n}', 1, 14, 'MISSING_OPEN_BRACE', 'expected `{` at the end of the `workflow` header line'],
  ['a header without { at the end of the text', 'Settings # s', 1, 9, 'MISSING_OPEN_BRACE', 'expected `{` at the end of the `Settings` header line'],
  ['a child on the header line', 'workflow x { verify_key', 1, 14, 'TEXT_AFTER_BRACE',
    'only a comment (or `}` for an empty block) may follow `{` on a header line: put each child on its own line'],
  ['a one-line block with a child', 'workflow x { verify_key }', 1, 14, 'TEXT_AFTER_BRACE',
    'only a comment (or `}` for an empty block) may follow `{` on a header line: put each child on its own line'],
  ['a child after { on its own line', 'workflow x\n{ verify_key\n}', 2, 3, 'TEXT_AFTER_BRACE',
    'only a comment (or `}` for an empty block) may follow `{` on its line: put each child on its own line'],
  ['text after }', 'workflow x {\n} workflow y {', 2, 3, 'TEXT_AFTER_BRACE', 'only a comment may follow `}` on its line'],
  ['text glued to }', 'workflow x {\n  s\n  };', 3, 4, 'TEXT_AFTER_BRACE', 'only a comment may follow `}` on its line'],
  ['text glued to } without an open block', '}}', 1, 1, 'UNEXPECTED_CLOSE_BRACE', '`}` without an open block'],
  ['} without an open block', `${DEFAULT_WORKFLOW}\n}`, 7, 1, 'UNEXPECTED_CLOSE_BRACE', '`}` without an open block'],
  ['} at the end of a child line', 'workflow x {\n  verify_key }', 2, 14, 'MISPLACED_CLOSE_BRACE', '`}` must be on a line of its own'],
  ['} inside a header', 'workflow x } {\n}', 1, 12, 'MISPLACED_CLOSE_BRACE', '`}` must be on a line of its own'],
  ['a nested block', 'workflow x {\n  group {\n  }\n}', 2, 9, 'NESTED_BLOCK',
    "blocks can't be nested: put the arguments of a child on its own line, without `{`"],
  ['a nested block glued to a word', 'workflow x {\n  group a={\n}', 2, 11, 'NESTED_BLOCK',
    "blocks can't be nested: put the arguments of a child on its own line, without `{`"],
  ['an empty nested block', 'workflow x {\n  group {}\n}', 2, 9, 'NESTED_BLOCK',
    "blocks can't be nested: put the arguments of a child on its own line, without `{`"],
  ['a header inside a block (a missing })', 'workflow a {\n  verify_key\nworkflow b {\n}', 3, 12, 'NESTED_BLOCK',
    "blocks can't be nested: is the `}` closing the `workflow a` block (line 1) missing before this line?"],
  ['an unterminated block (the line and column of its {)', '# config\nworkflow live {\n  verify_key\n', 2, 15, 'UNTERMINATED_BLOCK',
    'the `workflow live` block opened here is never closed: add a line with `}` after its last child'],
  ['an unterminated settings block', 'settings {', 1, 10, 'UNTERMINATED_BLOCK',
    'the `settings` block opened here is never closed: add a line with `}` after its last child'],
  ['a quoted child name', 'workflow x {\n  "verify key"\n}', 2, 3, 'INVALID_CHILD_NAME',
    '`"verify key"` is not a step type: a child line starts with a plain word, then its arguments (`step_type key=value …`)'],
  ['a setting written name=value', 'settings {\n  http_api_port=9011\n}', 2, 3, 'INVALID_CHILD_NAME',
    '`http_api_port=9011` is not a setting name: a child line starts with a plain word, then its arguments (`name value`)'],
  // settings
  ['settings with header arguments', 'settings main {\n}', 1, 10, 'SETTINGS_ARGUMENTS',
    '`settings` takes no arguments (found `main`): write each setting on its own line inside the block'],
  ['a setting with two values', 'settings {\n  ffmpeg_path /opt/my ffmpeg\n}', 2, 23, 'SETTING_TOO_MANY_VALUES',
    'the setting `ffmpeg_path` takes at most one value (found a second one, `ffmpeg`); quote a value that contains spaces'],
  ['a setting with a key=value argument', 'settings {\n  tls cert=/x.p12\n}', 2, 7, 'SETTING_VALUE_FORMAT',
    'the setting `tls` takes a plain value, not the key=value argument `cert=/x.p12`: write `tls <value>`, or quote the value'],
  // workflow
  ['a workflow without a name (column of the {)', 'workflow {\n}', 1, 10, 'WORKFLOW_NAME_MISSING', 'a workflow needs a name: `workflow <name> {`'],
  ['a workflow without a name, { on the next line', 'workflow\n{\n}', 1, 9, 'WORKFLOW_NAME_MISSING', 'a workflow needs a name: `workflow <name> {`'],
  ['a workflow named key=value', 'workflow a=b {\n}', 1, 10, 'WORKFLOW_NAME_INVALID',
    'the workflow name comes first and is a plain word, not the key=value argument `a=b`'],
  ['a quoted workflow name with a space', 'workflow "my live" {\n}', 1, 10, 'WORKFLOW_NAME_INVALID',
    'the workflow name `my live` can\'t be used in a URL: use only letters, digits, `_`, `.` and `-` (and not `.` or `..`)'],
  ['a workflow name with /', 'workflow live/2 {\n}', 1, 10, 'WORKFLOW_NAME_INVALID',
    'the workflow name `live/2` can\'t be used in a URL: use only letters, digits, `_`, `.` and `-` (and not `.` or `..`)'],
  ['a workflow name with non-ASCII', 'workflow café {\n}', 1, 10, 'WORKFLOW_NAME_INVALID',
    'the workflow name `café` can\'t be used in a URL: use only letters, digits, `_`, `.` and `-` (and not `.` or `..`)'],
  ['the workflow name ..', 'workflow .. {\n}', 1, 10, 'WORKFLOW_NAME_INVALID',
    'the workflow name `..` can\'t be used in a URL: use only letters, digits, `_`, `.` and `-` (and not `.` or `..`)'],
  ['duplicate workflow names (at the second)', `${DEFAULT_WORKFLOW}\n\nworkflow   live {\n}`, 8, 12, 'WORKFLOW_NAME_DUPLICATE',
    'a workflow named `live` is already defined at line 1'],
  ['routed_by_reactor with a value', 'workflow x routed_by_reactor=yes {\n}', 1, 12, 'ROUTED_BY_REACTOR_VALUE', '`routed_by_reactor` is a flag and takes no value'],
  // reactor
  ['a reactor without a name', 'reactor {\n}', 1, 9, 'REACTOR_NAME_MISSING', 'a reactor needs a name: `reactor <name> executor=<executor> {`'],
  ['a reactor named key=value', 'reactor executor=simple_http {\n}', 1, 9, 'REACTOR_NAME_INVALID',
    'the reactor name comes first and is a plain word, not the key=value argument `executor=simple_http`'],
  ['duplicate reactor names', 'reactor r executor=a {\n}\nreactor r executor=b {\n}', 3, 9, 'REACTOR_NAME_DUPLICATE',
    'a reactor named `r` is already defined at line 1'],
  ['a reactor without executor (column of the {)', 'reactor r update_interval=5 {\n}', 1, 29, 'REACTOR_EXECUTOR_MISSING',
    'reactor `r` needs an executor: `reactor r executor=simple_http {`'],
  ['a bare executor flag counts as missing', 'reactor r executor {\n}', 1, 11, 'REACTOR_EXECUTOR_MISSING',
    'reactor `r` needs an executor: `reactor r executor=simple_http {`'],
  ['an update_interval that is not a whole number', 'reactor r executor=x update_interval=1.5 {\n}', 1, 22, 'REACTOR_UPDATE_INTERVAL_INVALID',
    '`update_interval` must be a whole number of seconds, e.g. `update_interval=15` (found `update_interval=1.5`)'],
  ['a bare update_interval flag', 'reactor r executor=x update_interval {\n}', 1, 22, 'REACTOR_UPDATE_INTERVAL_INVALID',
    '`update_interval` must be a whole number of seconds, e.g. `update_interval=15` (found `update_interval`)'],
  ['a reactor parameter with two values', 'reactor r executor=x {\n  url http://a http://b\n}', 2, 16, 'REACTOR_PARAMETER_TOO_MANY_VALUES',
    'the reactor parameter `url` takes at most one value (found a second one, `http://b`); quote a value that contains spaces'],
  ['a reactor parameter with a key=value value', 'reactor r executor=x {\n  url u=1\n}', 2, 7, 'REACTOR_PARAMETER_VALUE_FORMAT',
    'the reactor parameter `url` takes a plain value, not the key=value argument `u=1`: write `url <value>`, or quote the value'],
  // columns count code points; tabs count one; a BOM is not a column; \r alone ends a line
  ['columns after astral characters and tabs', 'workflow x {\n\ts 🎥🎥 a="b\n}', 2, 9, 'UNTERMINATED_QUOTE', 'this quoted string has no closing `"` on its line'],
  ['columns after a BOM', '\uFEFFworkflow {\n}', 1, 10, 'WORKFLOW_NAME_MISSING', 'a workflow needs a name: `workflow <name> {`'],
  ['lines with \\r endings', 'workflow x {\r  a\r  b }\r}', 3, 5, 'MISPLACED_CLOSE_BRACE', '`}` must be on a line of its own'],
  ['long text in a message is cut', `workflow x {\n  s a=${'x'.repeat(60)}"\n}`, 2, 67, 'MISPLACED_QUOTE',
    `unexpected \`"\` inside \`a=${'x'.repeat(37)}…\`: a quote may only open an argument or follow \`key=\`; quote the whole value instead`],
];

function errorOf(text: string): ConfigSyntaxError {
  try {
    parseConfigText(text);
  } catch (err) {
    if (err instanceof ConfigSyntaxError) return err;
    throw err;
  }
  throw new Error(`expected a ConfigSyntaxError for ${JSON.stringify(text)}`);
}

/** Deterministic pseudo-random numbers (mulberry32), so a failing garbage input can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('workflows/config-format: parseConfigText', () => {
  describe('valid texts', () => {
    for (const [what, text, expected] of VALID) {
      it(what, () => {
        expect(shape(parseConfigText(text))).to.deep.equal(expected);
      });
    }
  });

  describe('positions (1-based lines, columns in code points)', () => {
    it('the default workflow, every position', () => {
      expect(parseConfigText(DEFAULT_WORKFLOW)).to.deep.equal({
        settings: [],
        reactors: [],
        workflows: [{
          name: 'live', flags: [], line: 1, column: 1,
          steps: [
            { type: 'rtmp_receive', line: 2, column: 5, args: [
              { key: 'rtmp_app', value: '*', line: 2, column: 18 },
              { key: 'stream_key', value: '*', line: 2, column: 29 },
            ] },
            { type: 'ws_receive', line: 3, column: 5, args: [{ key: 'channel', value: '*', line: 3, column: 16 }] },
            { type: 'verify_key', line: 4, column: 5, args: [] },
            { type: 'hls_ladder', line: 5, column: 5, args: [] },
          ],
        }],
      });
    });

    const POSITIONS: Array<[string, string, (p: ParsedConfigText) => { line: number; column: number }, number, number]> = [
      ['a workflow: its keyword', '\n\n   workflow x {\n}', (p) => p.workflows[0]!, 3, 4],
      ['a header flag', 'workflow x  routed_by_reactor {\n}', (p) => p.workflows[0]!.flags[0]!, 1, 13],
      ['a quoted flag: its opening quote', 'workflow x {\n  s a="b c" "d e"\n}', (p) => p.workflows[0]!.steps[0]!.args[1]!, 2, 13],
      ['an argument after escapes', String.raw`workflow x {
  s a="\"\\" b
}`, (p) => p.workflows[0]!.steps[0]!.args[1]!, 2, 14],
      ['an argument after astral characters and a tab', 'workflow x {\n\ts 🎥🎥\tb\n}', (p) => p.workflows[0]!.steps[0]!.args[1]!, 2, 7],
      ['a setting', 'settings {\n    a 1\n}', (p) => p.settings[0]!, 2, 5],
      ['a reactor: its keyword', 'reactor r executor=x {\n}', (p) => p.reactors[0]!, 1, 1],
      ['after a BOM', '\uFEFFworkflow x {\n}', (p) => p.workflows[0]!, 1, 1],
      ['with \\r\\n and \\r endings', 'workflow a {\r\n}\rworkflow b {\r\n  s\r\n}', (p) => p.workflows[1]!.steps[0]!, 4, 3],
    ];
    for (const [what, text, pick, line, column] of POSITIONS) {
      it(what, () => {
        const at = pick(parseConfigText(text));
        expect({ line: at.line, column: at.column }).to.deep.equal({ line, column });
      });
    }
  });

  describe('invalid texts: the first error, with line, column, code and message', () => {
    for (const [what, text, line, column, code, message] of INVALID) {
      it(`${code}: ${what}`, () => {
        const err = errorOf(text);
        expect({ line: err.line, column: err.column, code: err.code, message: err.message })
          .to.deep.equal({ line, column, code, message: `line ${line}, column ${column}: ${message}` });
      });
    }

    it('every error code has a case in the table', () => {
      const all: Record<ConfigSyntaxErrorCode, true> = {
        INVALID_CHARACTER: true, UNTERMINATED_QUOTE: true, MISPLACED_QUOTE: true, TEXT_AFTER_QUOTE: true,
        UNKNOWN_NODE: true, CHILD_OUTSIDE_BLOCK: true, MISSING_OPEN_BRACE: true, TEXT_AFTER_BRACE: true,
        UNEXPECTED_CLOSE_BRACE: true, MISPLACED_CLOSE_BRACE: true, NESTED_BLOCK: true, UNTERMINATED_BLOCK: true,
        INVALID_CHILD_NAME: true, SETTINGS_ARGUMENTS: true, SETTING_TOO_MANY_VALUES: true, SETTING_VALUE_FORMAT: true,
        WORKFLOW_NAME_MISSING: true, WORKFLOW_NAME_INVALID: true, WORKFLOW_NAME_DUPLICATE: true, ROUTED_BY_REACTOR_VALUE: true,
        REACTOR_NAME_MISSING: true, REACTOR_NAME_INVALID: true, REACTOR_NAME_DUPLICATE: true, REACTOR_EXECUTOR_MISSING: true,
        REACTOR_UPDATE_INTERVAL_INVALID: true, REACTOR_PARAMETER_TOO_MANY_VALUES: true, REACTOR_PARAMETER_VALUE_FORMAT: true,
      };
      expect([...new Set(INVALID.map((row) => row[4]))].sort()).to.deep.equal(Object.keys(all).sort());
    });

    it('the error is an Error named ConfigSyntaxError', () => {
      const err = errorOf('nope {\n}');
      expect(err).to.be.instanceOf(Error);
      expect(err.name).to.equal('ConfigSyntaxError');
    });

    it('reports the first error when there are several', () => {
      const err = errorOf('workflow a=b {\n  s x="unterminated\n}\nbogus {\n}');
      expect([err.code, err.line]).to.deep.equal(['WORKFLOW_NAME_INVALID', 1]);
    });
  });

  it('parses in time linear in the text: 40,000 lines cost about 4 × 10,000 (never quadratic), 10,000 well under a second', () => {
    const config = (count: number): string => {
      const lines: string[] = ['settings {', '  ffmpeg_path /usr/bin/ffmpeg # comment', '}'];
      for (let w = 0; lines.length + 8 <= count; w++) {
        lines.push(`workflow w${w} routed_by_reactor {`, '  # the steps', '  rtmp_receive rtmp_app=* stream_key=*',
          `  push target=rtmp://user:p%40ss@host/app/key${w}?a=b&c=d+e name="a \\"quoted\\" name"`, '  verify_key', '  hls_ladder', '}', '');
      }
      while (lines.length < count) lines.push('# padding');
      return lines.join('\n');
    };
    // Best of three after a warm-up: a ratio, so a loaded machine slows both sides alike.
    const best = (text: string): number => {
      let min = Infinity;
      for (let i = 0; i < 3; i++) {
        const started = process.hrtime.bigint();
        parseConfigText(text);
        min = Math.min(min, Number(process.hrtime.bigint() - started) / 1e6);
      }
      return min;
    };
    const [small, large] = [config(10_000), config(40_000)];
    expect(parseConfigText(small).workflows.length).to.be.greaterThan(1200);
    const [t10, t40] = [best(small), best(large)];
    expect(t40 / t10, `10k: ${t10.toFixed(1)} ms, 40k: ${t40.toFixed(1)} ms`).to.be.lessThan(8);
    expect(t10, `${t10.toFixed(1)} ms`).to.be.lessThan(1000);
  });

  it('random garbage never throws anything but a ConfigSyntaxError, pointing inside the text', () => {
    const pieces = ['workflow', 'settings', 'reactor', 'x', 'live', ' ', ' ', '\t', '\n', '\n', '\r\n', '\r', '{', '}', '{}', '"', '\\',
      '=', '#', 'a=b', 'executor=e', 'update_interval=', '🎥', 'é', '\u0000', '\u00A0', '\uFEFF', '\uD800', '?', '&', '..', 'routed_by_reactor'];
    const random = prng(20240601);
    let thrown = 0;
    for (let n = 0; n < 3000; n++) {
      const parts: string[] = [];
      const count = 1 + Math.floor(random() * 40);
      for (let k = 0; k < count; k++) parts.push(pieces[Math.floor(random() * pieces.length)]!);
      const text = parts.join('');
      try {
        parseConfigText(text);
      } catch (err) {
        expect(err, JSON.stringify(text)).to.be.instanceOf(ConfigSyntaxError);
        const e = err as ConfigSyntaxError;
        const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
        expect(e.line, JSON.stringify(text)).to.be.within(1, lines.length);
        expect(e.column, JSON.stringify(text)).to.be.within(1, Array.from(lines[e.line - 1]!).length + 1);
        expect(e.message, JSON.stringify(text)).to.match(new RegExp(`^line ${e.line}, column ${e.column}: .+`));
        thrown++;
      }
    }
    expect(thrown).to.be.greaterThan(100); // the generator does produce errors
  });

  it('random code units (any UTF-16, lone surrogates included) never throw anything but a ConfigSyntaxError', () => {
    const random = prng(7);
    for (let n = 0; n < 1000; n++) {
      const units: number[] = [];
      const count = Math.floor(random() * 200);
      for (let k = 0; k < count; k++) units.push(random() < 0.7 ? Math.floor(random() * 128) : Math.floor(random() * 0x10000));
      const text = String.fromCharCode(...units);
      try {
        parseConfigText(text);
      } catch (err) {
        expect(err, JSON.stringify(text)).to.be.instanceOf(ConfigSyntaxError);
      }
    }
  });
});
