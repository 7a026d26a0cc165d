// Placeholder with the agreed types; replaced by the parser branch (wf-parser) at merge.
export interface ConfigArgument { key: string; value: string | null; line: number; column: number }
export interface StepNode { type: string; args: ConfigArgument[]; line: number; column: number }
export interface WorkflowNode { name: string; flags: ConfigArgument[]; steps: StepNode[]; line: number; column: number }
export interface SettingNode { name: string; value: string | null; line: number; column: number }
export interface ParsedConfigText { settings: SettingNode[]; workflows: WorkflowNode[]; reactors: Array<{ name: string; line: number; column: number }> }
export class ConfigSyntaxError extends Error {
  constructor(readonly line: number, readonly column: number, readonly code: string, message: string) { super(message); }
}
export function parseConfigText(_text: string): ParsedConfigText {
  throw new Error('parser not merged yet');
}
