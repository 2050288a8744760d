import { spawn } from 'node:child_process'
import { trackChild } from './children.js'
import type { ChildProcess } from 'node:child_process'

/**
 * Node.js scripts run as their own processes with this test's Node.js
 * (`process.execPath`, so Node 22 even where the system Node is older),
 * their output collected. Every process is tracked for
 * `killChildProcesses()`.
 */

/** What a script printed so far: stdout, stderr, and both interleaved as they arrived. */
export interface ProcessOutput {
  stdout: string
  stderr: string
  /** stdout and stderr in arrival order */
  all: string
}

/** A spawned script with its output so far. */
export type NodeProcess = ChildProcess & { out: ProcessOutput }

/** How a script ended and what it printed. */
export interface NodeRun {
  /** exit code; null when a signal ended it */
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** stdout and stderr in arrival order */
  out: string
}

/** Options of {@link spawnNode}. */
export interface SpawnNodeOptions {
  /** variables added to (or, set to `undefined`, kept from) this process's environment */
  env?: Record<string, string | undefined>
  cwd?: string
  /** start the script as the leader of its own process group (so the group can be killed together) @default false */
  processGroup?: boolean
}

/** Spawns `process.execPath script ...args` with piped stdout and stderr, without waiting. */
export function spawnNode (script: string, args: string[], options: SpawnNodeOptions = {}): NodeProcess {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: options.cwd,
    env: options.env == null ? process.env : { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.processGroup === true
  }) as NodeProcess
  child.out = { stdout: '', stderr: '', all: '' }
  child.stdout?.setEncoding('utf8').on('data', (d: string) => { child.out.stdout += d; child.out.all += d })
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { child.out.stderr += d; child.out.all += d })
  return trackChild(child)
}

function result (child: NodeProcess, code: number | null, signal: NodeJS.Signals | null): NodeRun {
  return { code, signal, stdout: child.out.stdout, stderr: child.out.stderr, out: child.out.all }
}

/**
 * Waits for a spawned script to exit and its output to close.
 *
 * @throws Error naming the command and the tail of its stderr when it runs past `timeoutMs` (it is SIGKILLed then)
 */
export async function waitExit (child: NodeProcess, timeoutMs: number): Promise<NodeRun> {
  if (child.exitCode != null || child.signalCode != null) return result(child, child.exitCode, child.signalCode)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${child.spawnargs.slice(1).join(' ')} did not exit within ${timeoutMs} ms; stderr: ${child.out.stderr.slice(-500)}`))
    }, timeoutMs)
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolve(result(child, code, signal))
    })
  })
}

/** Options of {@link runNode}. */
export interface RunNodeOptions extends SpawnNodeOptions {
  /** SIGKILL the script after this long, ms; it then resolves with `code: null` */
  timeoutMs: number
}

/**
 * Runs a script to its end. A script still running after `timeoutMs` is
 * SIGKILLed together with every process it started (it runs as the leader
 * of its own process group: a testnet's daemons and their runners must not
 * outlive a test that timed out) and resolves with `code: null`,
 * `signal: 'SIGKILL'` (its output so far kept, for the assertion message).
 * It resolves on the script's exit, even if a process it started still
 * holds its output open. A script that ends by itself is responsible for
 * what it started.
 */
export async function runNode (script: string, args: string[], options: RunNodeOptions): Promise<NodeRun> {
  const child = spawnNode(script, args, { ...options, processGroup: true })
  const timer = setTimeout(() => { killGroup(child) }, options.timeoutMs)
  // 'exit', not 'close': a grandchild that inherited the pipes must not hold the run open
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(resolve => child.once('exit', (c, s) => { resolve([c, s]) }))
  clearTimeout(timer)
  return result(child, code, signal)
}

/** SIGKILLs the process group `child` leads (see `processGroup`), or `child` alone if that fails. */
function killGroup (child: ChildProcess): void {
  try {
    if (child.pid == null) throw new Error('no pid')
    process.kill(-child.pid, 'SIGKILL')
  } catch {
    child.kill('SIGKILL')
  }
}
