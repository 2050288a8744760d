import { readFile } from 'node:fs/promises'
import { UsageError } from './errors.js'

/** Argument parsers and input reading shared by the `fleetmesh` commands; each failure is a UsageError (exit code 2). */

/** Collects a repeatable option's values. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value]

export function intArg (name: string, min: number, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v) => {
    const n = Number(v)
    if (!/^\s*-?\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${name}: expected an integer ${min}..${max === Number.MAX_SAFE_INTEGER ? '' : max}, got ${JSON.stringify(v)}`)
    return n
  }
}

export function numberArg (name: string): (v: string) => number {
  return (v) => {
    const n = Number(v)
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`${name}: expected a number > 0, got ${JSON.stringify(v)}`)
    return n
  }
}

/** Reads a file the user named. @throws UsageError naming the file and what is wrong with it */
export async function readInputFile (file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file)
  } catch (err: any) {
    throw new UsageError(`${what} ${file}: ${err?.code === 'ENOENT' ? 'no such file' : err?.code === 'EISDIR' ? 'is a directory' : err?.message ?? err}`)
  }
}
