#!/usr/bin/env node
/**
 * Entry point of the local testnet. Checks the Node.js version before any
 * libp2p code loads: libp2p 3 calls `Promise.withResolvers` (Node >= 22).
 */
const [major] = process.versions.node.split('.').map(Number)
if ((major ?? 0) < 22) {
  console.error(`fleetmesh needs Node.js 22 or newer; this is ${process.version}. Run it through npm (\`npm run testnet\`), which puts the project's Node 22 first on the PATH, or install Node 22 LTS.`)
  process.exit(1)
}
await import('./testnet.js')
