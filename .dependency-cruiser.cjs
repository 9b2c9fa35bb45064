// The direction data flows in (README, "Architecture"), checked on every import, type-only ones
// included: profiles (suites/) -> harness core (src/) -> results (src/results/) -> reporters,
// dashboards, gate. The core imports nothing downstream; only the entry points (src/cli/,
// dashboards/cli.ts) wire the layers together. `npm run check:deps` fails on any rule below.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      comment: 'A cycle ties its modules into one: none may be understood, tested or moved alone.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-imports-nothing-downstream',
      comment: 'The harness core (src/ but the CLI and the package API, src/index.ts) imports no reporter, dashboard, profile or entry point.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli/|index\\.ts$)' },
      to: { path: '^(reporters|dashboards|suites)/|^src/cli/' },
    },
    {
      name: 'core-imports-no-gate',
      comment: 'The gate reads results; nothing that makes them depends on it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/((cli|gate)/|index\\.ts$)' },
      to: { path: '^src/gate/' },
    },
    {
      name: 'results-are-data',
      comment: 'The results layer reads and writes files of the schema: it runs nothing (no engine, sweep, worker, check or GEMM tuning); ' +
        'of measure/ it takes only definitions: the stop reasons and the sample statistics a summary must match.',
      severity: 'error',
      from: { path: '^src/results/' },
      to: { path: '^src/(run|check|gemm|sweep)/|^src/engine/native\\.ts$|^src/measure/(?!(stop-rule|sample-stats)\\.ts$)' },
    },
    {
      name: 'profiles-declare-only',
      comment: 'A profile is data: it takes its vocabulary from the core (src/engine/, src/sweep/) and the model dims from suites/.',
      severity: 'error',
      from: { path: '^suites/' },
      to: { path: '^(reporters|dashboards)/|^src/(?!engine/config\\.ts$|sweep/axes\\.ts$)' },
    },
    {
      name: 'reporters-render-results',
      comment: 'Reporters render results, the history of results (and the GEMM records the core defines, the sample statistics it computes); they import no dashboard, gate, profile, or running part.',
      severity: 'error',
      from: { path: '^reporters/' },
      to: { path: '^(dashboards|suites)/|^src/(?!results/|history/|engine/config\\.ts$|engine/gemm-types\\.ts$|gemm/tuning\\.ts$|measure/sample-stats\\.ts$)' },
    },
    {
      name: 'gate-compares-results',
      comment: 'The gate compares two runs: results and point configs only.',
      severity: 'error',
      from: { path: '^src/gate/' },
      to: { path: '^(reporters|dashboards|suites)/|^src/(?!gate/|results/|engine/config\\.ts$|input-error\\.ts$)' },
    },
    {
      name: 'history-reads-results',
      comment: 'The history reads results files into its store: it runs nothing (no engine, sweep, worker, check or GEMM tuning).',
      severity: 'error',
      from: { path: '^src/history/' },
      to: { path: '^src/(run|check|gemm|sweep)/|^src/engine/native\\.ts$|^src/measure/(?!sample-stats\\.ts$)' },
    },
    {
      name: 'dashboards-show-results',
      comment: 'Dashboards show results, their history and the gate\'s comparison; from the profiles only the published model dims; from the CLI only the exit codes.',
      severity: 'error',
      from: { path: '^dashboards/' },
      to: {
        path: '^reporters/|^suites/(?!models\\.ts$)|^src/(?!results/|gate/|history/|engine/config\\.ts$|engine/gemm-types\\.ts$|cli/exit\\.ts$|input-error\\.ts$)',
      },
    },
    {
      name: 'only-entry-points-import-the-cli',
      comment: 'src/cli/ wires the layers; besides its own modules only the dashboard entry point imports it (the exit codes).',
      severity: 'error',
      from: { path: '^(src|reporters|dashboards|suites)/', pathNot: '^src/cli/|^dashboards/cli\\.ts$' },
      to: { path: '^src/cli/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|native|node_modules|peers)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
