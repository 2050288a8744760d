import { copyFile, mkdir, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { GRANT_FILE_SUFFIX, GRANTS_DIR } from '@fleetmesh/ledger'
import { createAuthority, exportAuthorityPublicKey, generateSwarmKey, issueCertificate, loadOrCreateIdentity } from '@fleetmesh/peer'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { TEST_CERTIFICATE_VALID_MS } from './constants.js'
import { createTestGrant } from './grants.js'
import { LOOPBACK_GOSSIP_WHITELIST, loopbackListen } from './loopback.js'
import type { DaemonConfig } from '@fleetmesh/daemon'
import type { FleetAuthority, NodeRole } from '@fleetmesh/peer'

/**
 * The files of a fleet of daemons: the fleet's authority key and swarm key
 * under a root directory, and per daemon a data directory with its
 * identity, certificate and config.
 */

/** What every daemon of one fleet shares, as files under `root`. */
export interface FleetFiles {
  root: string
  authority: FleetAuthority
  /** the authority's public key, base64 (`exportAuthorityPublicKey`) */
  authorityPub: string
  /** `<root>/authority.pub`, holding `authorityPub` */
  authorityFile: string
  /** `<root>/swarm.key`, a PSK v1 swarm key, mode 0600 */
  swarmKeyFile: string
}

/** Creates `root` (if needed) with a fresh fleet authority's public key and a swarm key file. */
export async function createFleetFiles (root: string): Promise<FleetFiles> {
  await mkdir(root, { recursive: true })
  const authority = await createAuthority()
  const authorityPub = exportAuthorityPublicKey(authority.publicKey)
  const authorityFile = join(root, 'authority.pub')
  await writeFile(authorityFile, authorityPub)
  const swarmKeyFile = join(root, 'swarm.key')
  await writeFile(swarmKeyFile, generateSwarmKey(), { mode: 0o600 })
  return { root, authority, authorityPub, authorityFile, swarmKeyFile }
}

/** What {@link createDaemonIdentity} certifies. */
export interface DaemonIdentityInit {
  /** unique in the fleet, the data directory's name, e.g. `station-1` */
  name: string
  role: NodeRole
  /** geohash prefix @default 'u33d' */
  region?: string
  /** owner account named in the certificate */
  owner?: string
  /** certificate validity, ms @default TEST_CERTIFICATE_VALID_MS (one hour) */
  validForMs?: number
}

/** A daemon's data directory with its identity key and certificate. */
export interface DaemonIdentity {
  dataDir: string
  /** PeerId, string form */
  peerId: string
  /** `<dataDir>/certificate` */
  certificateFile: string
  /** `<dataDir>/grants/<name>.grant`: its credit grant from the fleet authority */
  grantFile: string
}

/**
 * Makes `<root>/<name>` (mode 0700) with an identity key (as the daemon
 * loads it), a certificate from the fleet authority, and a credit grant of
 * TEST_GRANT_CREDITS from it in `<dataDir>/grants/` (the daemon's ledger
 * adds it at start, so the daemon can submit jobs).
 */
export async function createDaemonIdentity (files: FleetFiles, init: DaemonIdentityInit): Promise<DaemonIdentity> {
  const dataDir = join(files.root, init.name)
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const peerId = peerIdFromPrivateKey(await loadOrCreateIdentity(dataDir))
  const certificateFile = join(dataDir, 'certificate')
  await writeFile(certificateFile, await issueCertificate(files.authority, {
    peerId, role: init.role, region: init.region ?? 'u33d', validForMs: init.validForMs ?? TEST_CERTIFICATE_VALID_MS, owner: init.owner
  }))
  const grantsDir = join(dataDir, GRANTS_DIR)
  await mkdir(grantsDir, { recursive: true, mode: 0o700 })
  const grantFile = join(grantsDir, `${init.name}${GRANT_FILE_SUFFIX}`)
  await writeFile(grantFile, await createTestGrant(files.authority, peerId.toString()))
  return { dataDir, peerId: peerId.toString(), certificateFile, grantFile }
}

/** Copies each daemon's grant file into every other daemon's `<dataDir>/grants/`, so each starts knowing every grant (no wait for gossip). */
export async function shareGrants (identities: DaemonIdentity[]): Promise<void> {
  for (const from of identities) {
    for (const to of identities) {
      if (to !== from) await copyFile(from.grantFile, join(to.dataDir, GRANTS_DIR, basename(from.grantFile)))
    }
  }
}

/** The config keys every daemon on loopback sets the same way. */
export type LoopbackDaemonConfig = Pick<DaemonConfig, 'dataDir' | 'role' | 'region' | 'listen' | 'bootstrap' | 'swarmKeyFile' | 'certificateFile' | 'authorities' | 'gossipIpWhitelist' | 'api' | 'inference' | 'market'>

/**
 * The config of a daemon on loopback: its own loopback listen host, the
 * fleet's swarm key and authority, 127.0.0.1 whitelisted in gossipsub's
 * IP-colocation scoring (loopback only, never a real fleet), its API on
 * 127.0.0.1 at any free port, one onnxruntime runner with one thread.
 *
 * @param init.bidWindowMs - the market's bid window, ms @default 500
 */
export function loopbackDaemonConfig (files: FleetFiles, identity: DaemonIdentity, init: { role: NodeRole, region?: string, bootstrap?: string[], bidWindowMs?: number }): LoopbackDaemonConfig {
  return {
    dataDir: identity.dataDir,
    role: init.role,
    region: init.region ?? 'u33d',
    listen: [loopbackListen()],
    bootstrap: init.bootstrap ?? [],
    swarmKeyFile: files.swarmKeyFile,
    certificateFile: identity.certificateFile,
    authorities: [files.authorityFile],
    gossipIpWhitelist: [...LOOPBACK_GOSSIP_WHITELIST],
    api: { host: '127.0.0.1', port: 0 },
    inference: { runners: 1, intraOpNumThreads: 1 },
    market: { bidWindowMs: init.bidWindowMs ?? 500 }
  }
}

/**
 * A complete config (every default spelled out) for a daemon of `files`
 * started in this process with `startDaemon`, its certificate issued:
 * no worker, a 400 ms bid window, 64 MiB models, errors-only logging.
 * Keys of `over` replace top-level keys.
 */
export async function testDaemonConfig (files: FleetFiles, name: string, role: 'station' | 'vehicle', over: Partial<DaemonConfig> = {}): Promise<DaemonConfig> {
  const identity = await createDaemonIdentity(files, { name, role })
  return {
    ...loopbackDaemonConfig(files, identity, { role, bidWindowMs: 400 }),
    announce: [],
    mdns: false,
    worker: { enabled: false, pricePerUnit: 1, loadFactor: 0.5, maxLeases: 4, availability: { whileCharging: true, whileParked: true, minParkedSoc: 0.5, minChargingSoc: 0, maxBatteryTempC: 45 } },
    vehicle: { scripted: false, state: 'parked', soc: 0.8, batteryTempC: 20 },
    ledger: { requireFunds: true },
    modelStore: { maxModelBytes: 64 * 1024 * 1024 },
    logLevel: 'error',
    ...over
  }
}
