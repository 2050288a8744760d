import { readInputFile } from './cli-args.js'
import type { SessionCommandContext } from './session-commands.js'
import type { Command } from 'commander'

/**
 * `fleetmesh revocations`: the revocation lists a running daemon holds,
 * and with `--apply FILE` a new list (from `fleetmesh authority revoke`)
 * applied on it at once: no restart, the revoked peers are dropped and
 * the daemon spreads the list to the fleet (gossip, and a push to every
 * peer it admits).
 */
export function registerRevocationCommands (program: Command, ctx: SessionCommandContext): void {
  const { io } = ctx
  ctx.withConnect(program.command('revocations'))
    .description('list the revocation lists a running daemon holds; --apply FILE applies a new one at once (GET/POST /api/v1/revocations)')
    .option('--apply <file>', 'a signed revocation list (fleetmesh authority revoke --out FILE)')
    .action(async (o: { apply?: string, json?: boolean } & Record<string, any>) => {
      const client = await ctx.connect(o)
      if (o.apply != null) {
        const r = await client.applyRevocations(await readInputFile(o.apply, 'revocation list'))
        if (o.json === true) { io.stdout(JSON.stringify(r) + '\n'); return }
        io.stdout(`revocation list ${r.sequence} of ${r.authority} applied: ${r.entries.length} entries, ${r.dropped.length} peers dropped${r.dropped.length > 0 ? ` (${r.dropped.join(', ')})` : ''}; the daemon spreads it to the fleet\n`)
        return
      }
      const lists = await client.revocations()
      if (o.json === true) { io.stdout(JSON.stringify(lists) + '\n'); return }
      if (lists.length === 0) { io.stdout('no revocation list held\n'); return }
      for (const l of lists) {
        io.stdout(`authority ${l.authority}: list ${l.sequence} of ${new Date(l.issuedAt).toISOString()}, ${l.entries.length} entries\n`)
        for (const e of l.entries) io.stdout(`  ${e.peerId ?? `serial ${e.serial ?? '?'}`}${e.reason !== '' ? ` (${e.reason})` : ''}\n`)
      }
    })
}
