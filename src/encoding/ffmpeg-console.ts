/**
 * ffmpeg's console, as castline sets it up and reads it: every encode and step command starts with
 * the same global options (machine-readable progress on stdout, which `FfmpegRun` parses; only
 * warnings and errors on stderr, whose tail becomes the message of a failed run), and a failed
 * run's message is the summary of that stderr tail. Pure.
 */

/** `-progress pipe:1`: key=value progress blocks on stdout; `-loglevel warning`: stderr only says what went wrong. */
export function globalArgs(): string[] {
  return ['-hide_banner', '-nostats', '-loglevel', 'warning', '-progress', 'pipe:1', '-y'];
}

/**
 * Lines of ffmpeg's stderr that say nothing about a failure. The bundled ffmpeg 4.1 prints the
 * first two on successful runs (the HLS muxer on every playlist rewrite, the FLV muxer on an
 * unseekable output); `ffmpeg -i INPUT` without an output (the probe) ends with the third.
 */
const NOISE = /Cannot use rename on non file protocol|Failed to update header with correct|^At least one output file must be specified/;

/** The last `n` meaningful stderr lines, joined with ` | ` ('' when there are none): the message of a failed run. */
export function stderrSummary(text: string, n = 3): string {
  const lines = text.split(/[\r\n]+/).map((l) => l.trim()).filter((l) => l !== '' && !NOISE.test(l));
  return lines.slice(-n).join(' | ');
}
