#!/usr/bin/env node
/**
 * The `fleetmesh` executable. Everything that escapes is printed as one
 * line, `fleetmesh: <message>`, never a stack trace.
 */
import { errorLine, main } from './cli.js'

const daemonMode = process.argv[2] === 'daemon'
process.on('uncaughtException', (err) => {
  process.stderr.write(errorLine(err) + '\n')
  process.exit(1)
})
process.on('unhandledRejection', (err: any) => {
  if (daemonMode) {
    // a stray rejection inside a networking library must not take the node down
    process.stderr.write(`${new Date().toISOString()} fleetmesh: warning: unhandled rejection: ${String(err?.message ?? err).split('\n')[0] ?? ''}\n`)
    return
  }
  process.stderr.write(errorLine(err) + '\n')
  process.exit(1)
})

const code = await main(process.argv.slice(2))
// the daemon's stores are flushed and its API closed by now; leftover handles (runner processes, timers) must not keep it alive
process.exit(code)
