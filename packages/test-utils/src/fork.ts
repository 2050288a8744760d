import { fork } from 'node:child_process'
import { killChild, trackChild } from './children.js'
import { FORK_READY_TIMEOUT_MS } from './constants.js'
import { ForkedNodeError } from './errors.js'
import type { ChildProcess } from 'node:child_process'

/**
 * Nodes in their own processes, for tests that SIGKILL one (churn,
 * durability). The parent forks a fixture script with an IPC channel and
 * waits for its `{ type: 'ready', … }` message; the fixture gets its spec
 * either as `{ type: 'start', spec }` over IPC (`options.start`) or from its
 * command line (`options.args`, e.g. a JSON config file). Every forked
 * node is tracked until it exits: call `killChildProcesses()` in
 * `afterEach` so none outlives its test.
 *
 * The fixture side is {@link onStart}, {@link sendToParent} and
 * {@link exitWithParent}.
 */

/** Options of {@link forkNode}. */
export interface ForkNodeOptions {
  /** command-line arguments after the script */
  args?: string[]
  /** sent as `{ type: 'start', spec: start }` once the child is forked; omit for a fixture configured by `args` */
  start?: unknown
  /** Node.js flags of the child @default the parent's (`process.execArgv`) */
  execArgv?: string[]
  /** variables added to this process's environment for the child */
  env?: Record<string, string | undefined>
  /** how long the child may take to report ready, ms @default FORK_READY_TIMEOUT_MS (20000) */
  readyTimeoutMs?: number
  /** what the child is, for error messages @default the script's file name */
  name?: string
}

/** A forked node that reported ready. */
export interface ForkedNode<Ready = any> {
  child: ChildProcess
  /** its `{ type: 'ready', … }` message */
  ready: Ready
  /** every message it sent, the ready message included, in order */
  messages: any[]
  /** Sends a message over IPC (dropped if the child is gone). */
  send(msg: unknown): void
  /** SIGKILLs the child (if it still runs) and resolves once it exited, or after KILL_WAIT_MS. */
  kill(): Promise<void>
}

/**
 * Forks `script` with stdout and stderr inherited and an IPC channel, and
 * resolves once it sends `{ type: 'ready' }`.
 *
 * @throws ForkedNodeError if the child exits first or is not ready within `readyTimeoutMs` (it is killed then)
 */
export async function forkNode<Ready = any> (script: URL | string, options: ForkNodeOptions = {}): Promise<ForkedNode<Ready>> {
  const name = options.name ?? String(script).split('/').pop()
  const timeoutMs = options.readyTimeoutMs ?? FORK_READY_TIMEOUT_MS
  const child = trackChild(fork(script, options.args ?? [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: options.execArgv,
    env: options.env == null ? process.env : { ...process.env, ...options.env }
  }))
  const messages: any[] = []
  const node: ForkedNode<Ready> = {
    child,
    ready: undefined as Ready,
    messages,
    send: (msg) => { if (child.connected) child.send(msg as any) },
    kill: async () => { await killChild(child) }
  }
  try {
    node.ready = await new Promise<Ready>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new ForkedNodeError(`forked ${name} did not report ready within ${timeoutMs} ms; see its output above`)) }, timeoutMs)
      child.on('message', (msg: any) => {
        messages.push(msg)
        if (msg?.type === 'ready') { clearTimeout(timer); resolve(msg) }
      })
      child.once('exit', (code, signal) => { clearTimeout(timer); reject(new ForkedNodeError(`forked ${name} exited (${code ?? signal}) before it was ready; see its output above`)) })
      if (options.start !== undefined) child.send({ type: 'start', spec: options.start })
    })
  } catch (err) {
    await killChild(child)
    throw err
  }
  return node
}

/** In a fixture: sends `msg` to the parent over IPC (nothing without a parent). */
export function sendToParent (msg: unknown): void {
  process.send?.(msg)
}

/**
 * In a fixture: runs `start(spec)` on the parent's `{ type: 'start', spec }`
 * and passes every other message to `onMessage`. An error in either is
 * printed and ends the process with exit code 1 (the parent sees the exit).
 * Also calls {@link exitWithParent}.
 */
export function onStart<Spec = any> (start: (spec: Spec) => Promise<void>, onMessage?: (msg: any) => Promise<void> | void): void {
  process.on('message', (msg: any) => {
    void (async () => {
      if (msg?.type === 'start') await start(msg.spec)
      else await onMessage?.(msg)
    })().catch(err => {
      console.error(`${process.argv[1] ?? 'fixture'}:`, err)
      process.exit(1)
    })
  })
  exitWithParent()
}

/**
 * In a fixture: exits when the parent goes away (its IPC channel closes),
 * after `beforeExit` (e.g. stopping the node) if given.
 */
export function exitWithParent (beforeExit?: () => Promise<void>): void {
  process.once('disconnect', () => {
    void (beforeExit?.() ?? Promise.resolve()).finally(() => process.exit(0))
  })
}
