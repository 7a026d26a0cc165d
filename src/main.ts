/** Composition root: read config, build the pieces, wire them, start, stop. */
export async function main(): Promise<void> {
  throw new Error('not wired yet');
}

if (require.main === module) void main();
