import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Temporary directories of a test, removed together by {@link removeTempDirs}. */

const dirs: string[] = []

/** A new empty directory under the OS temporary directory, named `<prefix>XXXXXX`. */
export async function tempDir (prefix = 'fleetmesh-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}

/** Removes every directory {@link tempDir} made and not yet removed; for `after`/`afterEach`. */
export async function removeTempDirs (): Promise<void> {
  await Promise.all(dirs.splice(0).map(async d => rm(d, { recursive: true, force: true })))
}
