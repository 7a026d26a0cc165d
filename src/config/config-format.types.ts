/**
 * The parsed shape of castline's config format (the mmids node grammar, see
 * docs/config-format.md): what `parseConfigText` returns and the codes of the errors it
 * throws. Positions are 1-based; a column counts Unicode code points (a tab is one column).
 */

/**
 * One argument. `key=value` → key and value (`key=` and `key=""` give the value `''`); a bare flag
 * or a quoted flag → key = its text (unescaped when quoted), value = null. Repeated keys are all
 * kept, in order: the consumer decides what a repeat means.
 */
export interface ConfigArgument {
  key: string;
  value: string | null;
  line: number;
  /** Where the argument starts (its key, or the opening quote of a quoted flag). */
  column: number;
}

/** One child line of a `workflow` block: the step type (case-sensitive) and its arguments. */
export interface StepNode {
  type: string;
  args: ConfigArgument[];
  line: number;
  column: number;
}

/** A `workflow <name> [flags…] { … }` block. line/column point at the `workflow` keyword. */
export interface WorkflowNode {
  /** Matches `^[A-Za-z0-9_.-]+$` and is not `.` or `..`: usable as one URL path segment. */
  name: string;
  /** Header arguments after the name, e.g. `routed_by_reactor`, kept as written. */
  flags: ConfigArgument[];
  steps: StepNode[];
  line: number;
  column: number;
}

/**
 * One child line of a `settings` block: `name` alone (value null) or `name value`. Every
 * `settings` block contributes, in order; the consumer decides what a repeated name means.
 */
export interface SettingNode {
  name: string;
  value: string | null;
  line: number;
  column: number;
}

/** A `reactor <name> executor=<x> [update_interval=<s>] { <param> <value> … }` block. */
export interface ReactorNode {
  name: string;
  /** `executor=` as written (castline runs `simple_http`). */
  executor: string;
  /** `update_interval=` in seconds; 0 (the default) = ask once per stream. */
  updateIntervalSeconds: number;
  /** The block's children: `url http://…` → { url: 'http://…' }; a bare name → null; a repeat: the last wins. */
  parameters: Record<string, string | null>;
  /** The `reactor` keyword. */
  line: number;
  column: number;
}

export interface ParsedConfigText {
  settings: SettingNode[];
  workflows: WorkflowNode[];
  reactors: ReactorNode[];
}

/** Why a text was refused; one code per kind of mistake (messages are for people, codes for code). */
export type ConfigSyntaxErrorCode =
  // characters and tokens
  | 'INVALID_CHARACTER'
  | 'UNTERMINATED_QUOTE'
  | 'MISPLACED_QUOTE'
  | 'TEXT_AFTER_QUOTE'
  // block structure
  | 'UNKNOWN_NODE'
  | 'CHILD_OUTSIDE_BLOCK'
  | 'MISSING_OPEN_BRACE'
  | 'TEXT_AFTER_BRACE'
  | 'UNEXPECTED_CLOSE_BRACE'
  | 'MISPLACED_CLOSE_BRACE'
  | 'NESTED_BLOCK'
  | 'UNTERMINATED_BLOCK'
  | 'INVALID_CHILD_NAME'
  // settings
  | 'SETTINGS_ARGUMENTS'
  | 'SETTING_TOO_MANY_VALUES'
  | 'SETTING_VALUE_FORMAT'
  // workflow
  | 'WORKFLOW_NAME_MISSING'
  | 'WORKFLOW_NAME_INVALID'
  | 'WORKFLOW_NAME_DUPLICATE'
  | 'ROUTED_BY_REACTOR_VALUE'
  // reactor
  | 'REACTOR_NAME_MISSING'
  | 'REACTOR_NAME_INVALID'
  | 'REACTOR_NAME_DUPLICATE'
  | 'REACTOR_EXECUTOR_MISSING'
  | 'REACTOR_UPDATE_INTERVAL_INVALID'
  | 'REACTOR_PARAMETER_TOO_MANY_VALUES'
  | 'REACTOR_PARAMETER_VALUE_FORMAT';
