/**
 * Root hooks: any uncaught exception or unhandled rejection during the run (an escaped actor
 * error, a stray socket error) fails the test that was running, instead of passing unnoticed.
 */
const escaped: unknown[] = [];
const record = (err: unknown) => escaped.push(err);

export const mochaHooks = {
  beforeAll(): void {
    process.on('uncaughtException', record);
    process.on('unhandledRejection', record);
  },
  afterEach(): void {
    if (escaped.length > 0) {
      const errors = escaped.splice(0);
      throw new Error(`escaped error(s) during this test: ${errors.map((e) => (e instanceof Error ? e.stack : String(e))).join('\n')}`);
    }
  },
  afterAll(): void {
    process.off('uncaughtException', record);
    process.off('unhandledRejection', record);
  },
};
