import { mkdir, readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { encodeEntry, GRANT_FILE_SUFFIX, GRANTS_DIR, grantId, issueGrant, toHex } from '@fleetmesh/ledger'
import { importAuthority } from '@fleetmesh/peer'
import { UsageError } from './errors.js'
import { writeFileAtomic } from './files.js'
import type { Command } from 'commander'

/**
 * `fleetmesh authority grant --authority DIR --account <PeerId|owner>
 * --credits N --expires <ISO> [--out FILE]`: signs a credit grant with the
 * fleet authority's key and writes it as an encoded ledger entry. A daemon
 * publishes it once the file lies in its `<dataDir>/grants/` directory
 * (`*.grant`, loaded at start): its ledger verifies, stores and gossips
 * it, and every other node gets it by gossip or reconciliation. One
 * station is enough.
 *
 * @param authority - the `fleetmesh authority` command
 * @param io - where the command prints
 */
export function registerAuthorityGrant (authority: Command, io: { stdout: (s: string) => void }, keyFileName: string): void {
  authority.command('grant')
    .description(`issue a signed credit grant to an account (a PeerId or an owner); put the file in a daemon's <dataDir>/${GRANTS_DIR}/ to publish it`)
    .requiredOption('--authority <dir>', `directory of ${keyFileName}`)
    .requiredOption('--account <account>', 'the PeerId or owner account the credits fund')
    .requiredOption('--credits <n>', 'credits granted (a positive number)')
    .requiredOption('--expires <iso>', 'expiry, ISO 8601 (e.g. 2027-01-01T00:00:00Z); unspent credits lapse then')
    .option('--out <file>', `file to write @default ./<grant id>${GRANT_FILE_SUFFIX}`)
    .action(async (o: { authority: string, account: string, credits: string, expires: string, out?: string }) => {
      const credits = Number(o.credits)
      if (!(Number.isFinite(credits) && credits > 0)) throw new UsageError(`--credits: expected a positive number, got ${JSON.stringify(o.credits)}`)
      const expiresAt = Date.parse(o.expires)
      if (!Number.isFinite(expiresAt)) throw new UsageError(`--expires: expected an ISO 8601 time such as 2027-01-01T00:00:00Z, got ${JSON.stringify(o.expires)}`)
      if (expiresAt <= Date.now()) throw new UsageError(`--expires ${o.expires} is in the past; give a future time`)
      const keyFile = join(resolve(o.authority), keyFileName)
      let text: string
      try {
        text = (await readFile(keyFile)).toString('utf8')
      } catch (err: any) {
        throw new UsageError(`authority key ${keyFile}: ${err?.code === 'ENOENT' ? 'no such file' : err?.message ?? err}`)
      }
      const a = importAuthority(text)
      let grant
      try {
        grant = await issueGrant(a.privateKey, { account: o.account, credits, expiresAt })
      } catch (err: any) {
        throw new UsageError(err?.message ?? String(err))
      }
      const bytes = encodeEntry({ grant })
      const id = toHex(grantId(grant))
      const out = resolve(o.out ?? `${id.slice(0, 16)}${GRANT_FILE_SUFFIX}`)
      // e.g. straight into a daemon's <dataDir>/grants/, which may not exist yet
      await mkdir(dirname(out), { recursive: true })
      await writeFileAtomic(out, bytes, 0o644)
      io.stdout(`grant ${id.slice(0, 16)}: ${credits} credits to ${o.account} until ${new Date(expiresAt).toISOString()} written to ${out}\ncopy it to a daemon's <dataDir>/${GRANTS_DIR}/ to publish it\n`)
    })
}
