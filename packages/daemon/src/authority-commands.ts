import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { createAuthority, createRevocationList, exportAuthority, exportAuthorityPublicKey, importAuthority, issueCertificate, verifyRevocationList } from '@fleetmesh/peer'
import { peerIdFromString } from '@libp2p/peer-id'
import { Option } from 'commander'
import { registerAuthorityGrant } from './authority-grant.js'
import { collect, intArg, readInputFile } from './cli-args.js'
import { UsageError } from './errors.js'
import { writeFileAtomic } from './files.js'
import type { CliIo } from './cli.js'
import type { RevocationEntry } from '@fleetmesh/protocol'
import type { Command } from 'commander'

/** Authority private key file name in `fleetmesh authority init --out DIR`. */
export const AUTHORITY_KEY_FILE = 'authority.key'
/** Authority public key file name (what nodes trust). */
export const AUTHORITY_PUB_FILE = 'authority.pub'

/**
 * `fleetmesh authority init|issue|revoke|grant`: the fleet authority's key
 * pair, device certificates, revocation lists and credit grants.
 *
 * @param program - the `fleetmesh` program
 * @param io - where the commands print
 */
export function registerAuthorityCommands (program: Command, io: CliIo): void {
  const authority = program.command('authority').description('fleet authority keys and device certificates')
  authority.command('init')
    .description('create a fleet authority key pair: DIR/authority.key (keep offline, mode 0600) and DIR/authority.pub (give to every node)')
    .requiredOption('--out <dir>', 'directory for the key files')
    .option('--force', 'overwrite an existing authority key')
    .action(async (o: { out: string, force?: boolean }) => {
      const dir = resolve(o.out)
      const keyFile = join(dir, AUTHORITY_KEY_FILE)
      if (existsSync(keyFile) && o.force !== true) throw new UsageError(`${keyFile} exists; an authority key is never overwritten without --force (every certificate it issued would stop verifying)`)
      const a = await createAuthority()
      await mkdir(dir, { recursive: true, mode: 0o700 })
      await writeFileAtomic(keyFile, exportAuthority(a) + '\n', 0o600)
      await writeFileAtomic(join(dir, AUTHORITY_PUB_FILE), exportAuthorityPublicKey(a.publicKey) + '\n', 0o644)
      io.stdout(`authority ${a.id}\nprivate key ${keyFile} (keep it offline)\npublic key ${join(dir, AUTHORITY_PUB_FILE)}\n`)
    })
  authority.command('issue')
    .description('issue a device certificate to a node\'s PeerId (printed by `fleetmesh init`)')
    .requiredOption('--authority <dir>', 'directory of authority.key')
    .requiredOption('--peer <peerId>', 'the node\'s PeerId')
    .addOption(new Option('--role <role>', 'the node\'s role').choices(['vehicle', 'station']).makeOptionMandatory())
    .requiredOption('--region <geohash>', 'the node\'s region (geohash prefix)')
    .option('--days <n>', 'validity, days', intArg('--days', 1, 36500), 365)
    .option('--owner <account>', 'vehicle owner account', '')
    .option('--jurisdiction <name>', 'where the device processes data, e.g. eu (jobs may require it: fleetmesh submit --jurisdiction)', '')
    .requiredOption('--out <file>', 'certificate file to write (the node\'s <dataDir>/certificate)')
    .action(async (o: { authority: string, peer: string, role: 'vehicle' | 'station', region: string, days: number, owner: string, jurisdiction: string, out: string }) => {
      const keyFile = join(resolve(o.authority), AUTHORITY_KEY_FILE)
      const a = importAuthority((await readInputFile(keyFile, 'authority key')).toString('utf8'))
      let peerId
      try { peerId = peerIdFromString(o.peer) } catch { throw new UsageError(`--peer ${JSON.stringify(o.peer)} is not a PeerId (fleetmesh init prints the node's PeerId)`) }
      let cert
      try {
        cert = await issueCertificate(a, { peerId, role: o.role, region: o.region, validForMs: o.days * 24 * 3600_000, owner: o.owner, jurisdiction: o.jurisdiction })
      } catch (err: any) {
        throw new UsageError(String(err?.message ?? err))
      }
      const out = resolve(o.out)
      await writeFileAtomic(out, cert, 0o644)
      io.stdout(`certificate for ${peerId.toString()} (${o.role} in ${o.region}, ${o.days} days) written to ${out}\n`)
    })

  authority.command('revoke')
    .description('sign a revocation list (devices by PeerId, certificates by serial) into FILE; apply it on a running daemon with fleetmesh revocations --apply FILE (a node also loads <dataDir>/revocation.list at start) and it spreads to the whole fleet (gossip, and a push to every peer it admits)')
    .requiredOption('--authority <dir>', 'directory of authority.key')
    .option('--peer <peerId>', 'revoke a device: its certificates issued until now (repeatable)', collect)
    .option('--serial <hex>', 'revoke one certificate by its serial, sha2-256 hex of the certificate file (repeatable)', collect)
    .option('--reason <text>', 'reason recorded with the new entries', '')
    .requiredOption('--out <file>', 'revocation list to write; an existing list there is extended (its entries kept, its sequence raised)')
    .action(async (o: { authority: string, peer?: string[], serial?: string[], reason: string, out: string }) => {
      const a = importAuthority((await readInputFile(join(resolve(o.authority), AUTHORITY_KEY_FILE), 'authority key')).toString('utf8'))
      if ((o.peer ?? []).length === 0 && (o.serial ?? []).length === 0) throw new UsageError('name what to revoke: --peer <PeerId> or --serial <hex>')
      const now = Date.now()
      const entries: RevocationEntry[] = []
      for (const p of o.peer ?? []) {
        try { entries.push({ peerId: peerIdFromString(p), revokedAt: now, reason: o.reason }) } catch { throw new UsageError(`--peer ${JSON.stringify(p)} is not a PeerId`) }
      }
      for (const serial of o.serial ?? []) entries.push({ serial: serial.toLowerCase(), revokedAt: now, reason: o.reason })
      const out = resolve(o.out)
      let sequence = now
      if (existsSync(out)) {
        let previous
        try {
          previous = await verifyRevocationList(await readInputFile(out, 'revocation list'), { trustedAuthorities: [a.publicKey] })
        } catch (err: any) {
          throw new UsageError(`${out} is not a revocation list of this authority (${err?.message ?? err}); give another --out`)
        }
        entries.unshift(...previous.entries)
        sequence = Math.max(now, previous.sequence + 1)
      }
      let list: Uint8Array
      try {
        list = await createRevocationList(a, entries, { sequence, issuedAt: now })
      } catch (err: any) {
        throw new UsageError(err?.message ?? String(err))
      }
      await writeFileAtomic(out, list, 0o644)
      io.stdout(`revocation list ${sequence} with ${entries.length} entries written to ${out}\napply it on a running daemon with \`fleetmesh revocations --apply ${out}\` (or copy it to <dataDir>/revocation.list, read at start): the node drops the revoked peers and spreads the list to the fleet\n`)
    })
  registerAuthorityGrant(authority, io, AUTHORITY_KEY_FILE)
}
