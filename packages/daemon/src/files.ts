import { randomBytes } from 'node:crypto'
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DaemonNotRunningError } from './errors.js'

/**
 * Files of the daemon in its data directory: the API token
 * (`api-token`, mode 0600) and the running daemon's address (`api.json`).
 */

/** File name of the API token in the data directory. */
export const API_TOKEN_FILE = 'api-token'
/** File name of the running daemon's API address in the data directory. */
export const API_JSON_FILE = 'api.json'
/** File name of the config that `fleetmesh init` writes. */
export const CONFIG_FILE = 'config.json'
/** File name of the node's certificate in the data directory. */
export const CERTIFICATE_FILE = 'certificate'

/** What `api.json` holds while a daemon runs. */
export interface ApiAddress {
  /** base URL of the API, e.g. `http://127.0.0.1:41234` */
  url: string
  /** process id of the daemon */
  pid: number
}

/** Writes a file atomically (temp file, then rename) with `mode`. */
export async function writeFileAtomic (file: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, data, { mode })
  await rename(tmp, file)
}

/**
 * Reads the API token from `<dataDir>/api-token`, creating a random one
 * (32 bytes, base64url, mode 0600) if there is none; a token file readable
 * by others is tightened to 0600.
 *
 * @throws Error from the file system (unreadable or unwritable data directory)
 */
export async function loadOrCreateToken (dataDir: string): Promise<string> {
  const file = join(dataDir, API_TOKEN_FILE)
  try {
    const token = (await readFile(file, 'utf8')).trim()
    if (token.length >= 16) {
      const s = await stat(file)
      if ((s.mode & 0o077) !== 0) await chmod(file, 0o600)
      return token
    }
  } catch (err: any) {
    if (err?.code !== 'ENOENT') throw err
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const token = randomBytes(32).toString('base64url')
  await writeFileAtomic(file, token + '\n', 0o600)
  return token
}

/** Writes `<dataDir>/api.json`. */
export async function writeApiAddress (dataDir: string, address: ApiAddress): Promise<void> {
  await writeFileAtomic(join(dataDir, API_JSON_FILE), JSON.stringify(address) + '\n', 0o600)
}

/** Removes `<dataDir>/api.json` (no error if it is gone). */
export async function removeApiAddress (dataDir: string): Promise<void> {
  await rm(join(dataDir, API_JSON_FILE), { force: true })
}

/**
 * Reads the running daemon's address and token from a data directory.
 *
 * @throws DaemonNotRunningError if there is no `api.json` (no daemon runs on this data directory)
 */
export async function readApiAddress (dataDir: string): Promise<ApiAddress & { token: string }> {
  let address: ApiAddress
  try {
    address = JSON.parse(await readFile(join(dataDir, API_JSON_FILE), 'utf8'))
  } catch (err: any) {
    if (err?.code === 'ENOENT') throw new DaemonNotRunningError(`no daemon is running on ${dataDir} (no ${API_JSON_FILE}); start one with \`fleetmesh daemon --data-dir ${dataDir}\``)
    throw new DaemonNotRunningError(`${join(dataDir, API_JSON_FILE)} is unreadable (${err?.message ?? err}); restart the daemon`)
  }
  if (typeof address?.url !== 'string') throw new DaemonNotRunningError(`${join(dataDir, API_JSON_FILE)} has no url; restart the daemon`)
  let token: string
  try {
    token = (await readFile(join(dataDir, API_TOKEN_FILE), 'utf8')).trim()
  } catch (err: any) {
    throw new DaemonNotRunningError(`cannot read the API token ${join(dataDir, API_TOKEN_FILE)} (${err?.code ?? err?.message ?? err}); run the CLI as the daemon's user`)
  }
  return { ...address, token }
}
