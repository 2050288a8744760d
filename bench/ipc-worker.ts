import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'

/** `Omit` applied to each member of a union (commands are unions). */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** p-th percentile (nearest rank) rounded to 0.1, or null for no samples. */
export function percentile (xs: number[], p: number): number | null {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  return Math.round(s[Math.min(s.length - 1, Math.ceil(p / 100 * s.length) - 1)] as number * 10) / 10
}

/**
 * A benchmark worker process (forked with IPC) that answers `{ id, ...cmd }`
 * requests with `{ id, ok, result | error }`. It signals readiness with a
 * first message of any shape.
 */
export class IpcWorker<Command extends { id: number, type: string }> {
  private nextId = 1
  constructor (readonly child: ChildProcess) {}

  static async fork<C extends { id: number, type: string }>(script: URL): Promise<IpcWorker<C>> {
    const child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => { resolve() })
      child.once('exit', (code) => { reject(new Error(`worker exited ${code}`)) })
    })
    return new IpcWorker<C>(child)
  }

  async call<T = any>(cmd: DistributiveOmit<Command, 'id'>, timeoutMs = 600_000): Promise<T> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`worker did not answer ${cmd.type}`)) }, timeoutMs)
      const on = (msg: any): void => {
        if (msg?.id !== id) return
        clearTimeout(timer)
        this.child.off('message', on)
        if (msg.ok === true) resolve(msg.result); else reject(new Error(msg.error))
      }
      this.child.on('message', on)
      this.child.send({ ...cmd, id })
    })
  }
}
