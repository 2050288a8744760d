import { mkdir, readFile, writeFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { LevelDatastore } from 'datastore-level'
import { DATASTORE_DIR, IDENTITY_FILE } from './constants.js'
import { DataDirError } from './errors.js'
import type { PrivateKey } from '@libp2p/interface'

/**
 * Loads the node's identity key from `<dataDir>/identity.key`, creating an
 * Ed25519 key (file mode 0600) on first use, so a restarted node keeps its
 * PeerId.
 *
 * @throws DataDirError if the directory cannot be created or the key file is corrupt
 */
export async function loadOrCreateIdentity (dataDir: string): Promise<PrivateKey> {
  const file = join(dataDir, IDENTITY_FILE)
  let bytes: Uint8Array | undefined
  try {
    bytes = await readFile(file)
  } catch (err: any) {
    if (err?.code !== 'ENOENT') {
      throw new DataDirError(`cannot read identity key ${file}: ${err?.message ?? err}`)
    }
  }
  if (bytes != null) {
    try {
      return privateKeyFromProtobuf(bytes)
    } catch (err: any) {
      throw new DataDirError(`identity key ${file} is corrupt (${err?.message ?? err}); restore it from a backup, or delete it to create a new identity (the node gets a new PeerId and needs a new certificate)`)
    }
  }
  const key = await generateKeyPair('Ed25519')
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 })
    const tmp = `${file}.tmp`
    await writeFile(tmp, privateKeyToProtobuf(key), { mode: 0o600 })
    await rename(tmp, file)
  } catch (err: any) {
    throw new DataDirError(`cannot write identity key ${file}: ${err?.message ?? err}`)
  }
  return key
}

/**
 * Opens the persistent datastore (LevelDB) in `<dataDir>/datastore`. libp2p
 * keeps its peer store and DHT records in it.
 *
 * @throws DataDirError if it cannot be opened (for example, another process holds its lock)
 */
export async function openDatastore (dataDir: string): Promise<LevelDatastore> {
  const path = join(dataDir, DATASTORE_DIR)
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 })
    const store = new LevelDatastore(path)
    await store.open()
    return store
  } catch (err: any) {
    throw new DataDirError(`cannot open datastore ${path}: ${err?.message ?? err}; is another fleetmesh node using this data directory?`)
  }
}
