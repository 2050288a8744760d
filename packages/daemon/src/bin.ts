#!/usr/bin/env node
/**
 * The `fleetmesh` executable. Everything that escapes is printed as one
 * line, `fleetmesh: <message>`, never a stack trace. Exit codes: 0 ok,
 * 1 runtime failure, 2 usage or config error.
 */
import { errorLine, main } from './cli.js'
import { EXIT_FAILURE } from './constants.js'

/** Resolves once everything written to `stream` so far has been handed to the OS (a pipe may hold only 64 KiB at a time). */
async function drain (stream: NodeJS.WriteStream): Promise<void> {
  await new Promise<void>(resolve => { stream.write('', () => { resolve() }) })
}

async function exit (code: number): Promise<never> {
  await Promise.all([drain(process.stdout), drain(process.stderr)]).catch(() => {})
  process.exit(code)
}

// `npm run fleetmesh -- …` runs in the repository root; relative paths mean the user's directory
if (process.env.npm_lifecycle_event === 'fleetmesh' && process.env.INIT_CWD != null && process.env.INIT_CWD !== '') {
  process.chdir(process.env.INIT_CWD)
}

const daemonMode = process.argv[2] === 'daemon'
process.on('uncaughtException', (err) => {
  process.stderr.write(errorLine(err) + '\n')
  void exit(EXIT_FAILURE)
})
process.on('unhandledRejection', (err: any) => {
  if (daemonMode) {
    // a stray rejection inside a networking library must not take the node down
    process.stderr.write(`${new Date().toISOString()} fleetmesh: warning: unhandled rejection: ${String(err?.message ?? err).split('\n')[0] ?? ''}\n`)
    return
  }
  process.stderr.write(errorLine(err) + '\n')
  void exit(EXIT_FAILURE)
})

const code = await main(process.argv.slice(2))
// the daemon's stores are flushed and its API closed by now; leftover handles (runner processes, timers) must not keep it alive,
// but everything printed must reach a pipe first (`--json` output is often larger than a pipe's buffer)
await exit(code)
