import { KILL_WAIT_MS } from './constants.js'
import type { ChildProcess } from 'node:child_process'

/**
 * The one registry of child processes started through this package
 * (forked nodes, CLI runs, daemons), so a test's `afterEach` can kill every
 * one of them with {@link killChildProcesses}.
 */

const running = new Set<ChildProcess>()

/** Tracks `child` until it exits. */
export function trackChild<C extends ChildProcess> (child: C): C {
  running.add(child)
  child.once('exit', () => { running.delete(child) })
  return child
}

/** SIGKILLs `child` unless it already exited; resolves on its exit or after KILL_WAIT_MS (5000). */
export async function killChild (child: ChildProcess): Promise<void> {
  if (child.exitCode != null || child.signalCode != null) return
  const exited = new Promise(resolve => child.once('exit', resolve))
  child.kill('SIGKILL')
  await Promise.race([exited, new Promise(resolve => setTimeout(resolve, KILL_WAIT_MS).unref())])
}

/**
 * SIGKILLs every child process started through this package that still
 * runs, and waits for each to exit (at most KILL_WAIT_MS each): for
 * `afterEach`, so no process outlives its test.
 */
export async function killChildProcesses (): Promise<void> {
  await Promise.all([...running].map(killChild))
}

/** The tracked child processes still running (to check that a test left none behind). */
export function runningChildren (): ChildProcess[] {
  return [...running]
}
