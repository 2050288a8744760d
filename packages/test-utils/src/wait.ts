import { WAIT_INTERVAL_MS, WAIT_TIMEOUT_MS } from './constants.js'
import { WaitTimeoutError } from './errors.js'

/** Options of {@link waitUntil}. */
export interface WaitUntilOptions {
  /** give up after this long, ms @default WAIT_TIMEOUT_MS (10000) */
  timeoutMs?: number
  /** pause between two evaluations of the predicate, ms @default WAIT_INTERVAL_MS (25) */
  intervalMs?: number
  /** what is awaited, for the error: "waiting for <message>", e.g. `'the station to admit both workers'` */
  message?: string
}

/**
 * Resolves once `predicate` returns (or resolves to) true, evaluating it
 * first at once, then every `intervalMs`. An exception thrown by the
 * predicate rejects at once (a fixture that died is not worth waiting for).
 *
 * @returns how long it waited, ms
 * @throws WaitTimeoutError (`code: 'ERR_WAIT_TIMEOUT'`) when `timeoutMs` passed with the predicate still false
 */
export async function waitUntil (predicate: () => boolean | Promise<boolean>, options: WaitUntilOptions = {}): Promise<number> {
  const timeoutMs = options.timeoutMs ?? WAIT_TIMEOUT_MS
  const intervalMs = options.intervalMs ?? WAIT_INTERVAL_MS
  const start = Date.now()
  while (true) {
    if (await predicate()) return Date.now() - start
    if (Date.now() - start > timeoutMs) {
      throw new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${options.message ?? 'a condition'}; raise timeoutMs if the machine is just slow`, timeoutMs)
    }
    await delay(intervalMs)
  }
}

/**
 * Resolves after `ms`; rejects with the signal's reason (or an `AbortError`)
 * as soon as `signal` aborts.
 */
export async function delay (ms: number, signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) { reject(abortReason(signal)); return }
    const onAbort = (): void => { clearTimeout(timer); reject(abortReason(signal as AbortSignal)) }
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve() }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

function abortReason (signal: AbortSignal): unknown {
  return signal.reason ?? Object.assign(new Error('aborted'), { name: 'AbortError' })
}
