/**
 * The dependency check of `npm run lint` (dependency-cruiser):
 *  - no runtime import cycle between files (type-only imports do not count:
 *    a service's `index.ts` declares the types its class file implements,
 *    and the class file imports them back as types, libp2p's pattern);
 *  - the package order protocol <- runtime, market, ledger <- inference <-
 *    peer <- daemon: the `src` of a package imports only packages below it
 *    (runtime, market and ledger only protocol), never a test, the private
 *    test-utils, an example, a benchmark or the root tests. Tests, fixtures,
 *    test-utils, examples, benchmarks and root tests may import anything;
 *  - the simulator (packages/sim) imports protocol, runtime, market and
 *    ledger; the `src` of no package imports it (each rule above lists
 *    only lower packages, and sim is none's).
 *
 * Imports of another workspace package resolve to its built `dist/` (or, in
 * an unbuilt tree, stay `@fleetmesh/<name>`); the rules match either form.
 */

/** A package's own lower packages, by the order above. */
const BELOW = {
  protocol: [],
  runtime: ['protocol'],
  market: ['protocol'],
  ledger: ['protocol'],
  inference: ['protocol', 'runtime', 'market', 'ledger'],
  peer: ['protocol', 'runtime', 'market', 'ledger', 'inference'],
  daemon: ['protocol', 'runtime', 'market', 'ledger', 'inference', 'peer'],
  // the simulator runs the pure cores of these packages; no package's src imports it
  sim: ['protocol', 'runtime', 'market', 'ledger']
}

/** Everything of ours a `src` file could import: workspace packages (by path or by name), examples, benchmarks, root tests. */
const OURS = '^(packages/[^/]+/|@fleetmesh/|examples/|bench/|test/)'

const layerRules = Object.entries(BELOW).map(([pkg, below]) => ({
  name: `order-${pkg}`,
  severity: 'error',
  comment: below.length === 0
    ? `packages/${pkg}/src imports nothing of ours: it is the bottom of the package order`
    : `packages/${pkg}/src imports only ${below.join(', ')} (protocol <- runtime, market, ledger <- inference <- peer <- daemon)`,
  from: { path: `^packages/${pkg}/src/` },
  to: {
    path: OURS,
    pathNot: [
      `^packages/${pkg}/src/`,
      ...below.map(p => `^(packages/|@fleetmesh/)${p}(/|$)`)
    ]
  }
}))

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-runtime-cycle',
      severity: 'error',
      comment: 'a cycle of runtime imports between files (type-only imports excluded): move the shared part into a file both import',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } }
    },
    ...layerRules
  ],
  options: {
    doNotFollow: { path: ['(^|/)node_modules/', '(^|/)dist/'] },
    exclude: { path: ['\\.d\\.ts$'] },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'node', 'default'],
      extensions: ['.ts', '.js']
    }
  }
}
