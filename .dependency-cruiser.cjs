/**
 * The structure rules (issue 8), checked by `npm test` (pretest) and `npm run check:structure`.
 * Type-only imports count: a reader follows them just the same.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycle',
      comment: 'The folders of src/ and actors/ form no cycle (a folder may use another, never back).',
      severity: 'error',
      scope: 'folder',
      from: { path: '^(src|actors)/' },
      to: { circular: true },
    },
    {
      name: 'no-module-cycle',
      comment: 'No module reaches itself through its imports.',
      severity: 'error',
      from: { path: '^(src|actors)/' },
      to: { circular: true },
    },
    {
      name: 'domain-imports-nothing',
      comment: 'src/domain is the vocabulary of the program: it imports nothing else from the project.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { path: '^(src|actors|test|bench)/', pathNot: '^src/domain/' },
    },
    {
      name: 'actors-only-domain',
      comment: 'XState machines are pure definitions: they import only actors/, src/domain/ and packages.',
      severity: 'error',
      from: { path: '^actors/' },
      to: { path: '^(src|test|bench)/', pathNot: '^src/domain/' },
    },
    {
      name: 'product-not-tests',
      comment: 'Shipped code never imports tests or benchmarks.',
      severity: 'error',
      from: { path: '^(src|actors)/' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '\\.d\\.ts$' },
  },
};
