import { existsSync, readFileSync } from 'node:fs'
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { generateSwarmKey, importAuthorityPublicKey, loadOrCreateIdentity, parseSwarmKey } from '@fleetmesh/peer'
import { parseModelCid } from '@fleetmesh/runtime'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import cliProgress from 'cli-progress'
import Table from 'cli-table3'
import { Command, CommanderError, Option } from 'commander'
import { registerAuthorityCommands } from './authority-commands.js'
import { collect, intArg, numberArg, readInputFile } from './cli-args.js'
import { ApiClient } from './client.js'
import { coerceValue, CONFIG_KEYS, loadConfig } from './config.js'
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, PARENT_CHECK_INTERVAL_MS } from './constants.js'
import { consoleLog, startDaemon, VERSION } from './daemon.js'
import { JobError, UsageError } from './errors.js'
import { CERTIFICATE_FILE, CONFIG_FILE, loadOrCreateToken, writeFileAtomic } from './files.js'
import { readNpy, writeNpy } from './npy.js'
import { placementMessage, progressFigures, progressLine } from './progress.js'
import { registerRevocationCommands } from './revocation-commands.js'
import { registerSessionCommands } from './session-commands.js'
import type { JobView } from './jobs.js'
import type { WireTensor } from '@fleetmesh/protocol'

/**
 * The `fleetmesh` command line: authority and swarm key tools, `init`,
 * `daemon`, `submit`, `generate` and `sessions` (session-commands.ts), and
 * read-only views of a running daemon. Bad input never prints a stack
 * trace: {@link main} catches everything and prints one line,
 * `fleetmesh: <message>`, on stderr.
 */

export { AUTHORITY_KEY_FILE, AUTHORITY_PUB_FILE } from './authority-commands.js'

/** Where the CLI writes and what it reads; replaceable in tests. */
export interface CliIo {
  stdout: (text: string) => void
  stderr: (text: string) => void
  env: Record<string, string | undefined>
}

const defaultIo: CliIo = {
  stdout: (t) => { process.stdout.write(t) },
  stderr: (t) => { process.stderr.write(t) },
  env: process.env
}

/** One line: newlines folded, so every error is exactly one line. */
export function oneLine (text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim()
}

/** The message of any thrown value, as the CLI prints it. */
export function errorLine (err: any): string {
  const message = typeof err?.message === 'string' && err.message !== '' ? err.message : String(err)
  return `fleetmesh: ${oneLine(message.replace(/^error: /, ''))}`
}

/** `--set key=value` pairs as flat config keys. @throws UsageError on a pair without `=` */
function parseSets (sets: string[] = []): Record<string, string> {
  const out: Record<string, string> = {}
  for (const s of sets) {
    const i = s.indexOf('=')
    if (i <= 0) throw new UsageError(`--set ${JSON.stringify(s)}: expected key=value, e.g. --set api.port=8080 (keys: ${CONFIG_KEYS.map(k => k.key).join(', ')})`)
    out[s.slice(0, i).trim()] = s.slice(i + 1)
  }
  return out
}

interface ConnectOptions { dataDir?: string, api?: string, token?: string }

/** Finds the daemon: `--api`/`--token`, else `FLEETMESH_API`/`FLEETMESH_TOKEN`, else the data directory's `api.json` and `api-token`. */
async function connect (opts: ConnectOptions, io: CliIo): Promise<ApiClient> {
  const api = opts.api ?? io.env.FLEETMESH_API
  const token = opts.token ?? io.env.FLEETMESH_TOKEN
  if (api != null && api !== '') {
    if (token == null || token === '') throw new UsageError('--api needs a token: give --token or FLEETMESH_TOKEN (the daemon\'s <dataDir>/api-token)')
    return new ApiClient({ url: api, token })
  }
  const dataDir = resolve(opts.dataDir ?? io.env.FLEETMESH_DATA_DIR ?? join(homedir(), '.fleetmesh'))
  const client = await ApiClient.fromDataDir(dataDir)
  return token != null && token !== '' ? new ApiClient({ url: client.url, token }) : client
}

function withConnect (cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'data directory of the daemon (reads api.json and api-token)')
    .option('--api <url>', 'API base URL (or FLEETMESH_API)')
    .option('--token <token>', 'API token (or FLEETMESH_TOKEN)')
    .option('--json', 'print JSON instead of a table')
}

function table (head: string[], rows: Array<Array<string | number>>): string {
  const t = new Table({ head, style: { head: [], border: [] } })
  for (const r of rows) t.push(r.map(String))
  return t.toString() + '\n'
}

const short = (id: string): string => id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id
const time = (ms: number | undefined): string => ms == null ? '' : new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z')

function tensorFromNpy (name: string, bytes: Uint8Array, file: string): WireTensor {
  const a = readNpy(bytes, file)
  return { name, dtype: a.dtype, dims: a.shape, data: a.data }
}

/**
 * Builds the `fleetmesh` program. Errors propagate to {@link main}.
 *
 * @param io - output and environment; `fleetmesh daemon` resolves once the daemon has stopped
 */
export function createProgram (io: CliIo = defaultIo): Command {
  const program = new Command('fleetmesh')
  program
    .description('fleetmesh: a peer-to-peer compute mesh of stations and vehicles')
    .version(VERSION, '-v, --version')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => { io.stdout(s) },
      writeErr: () => {},
      outputError: () => {}
    })

  registerAuthorityCommands(program, io)
  registerSessionCommands(program, { io, withConnect, connect: async (opts) => connect(opts, io) })
  registerRevocationCommands(program, { io, withConnect, connect: async (opts) => connect(opts, io) })

  // ---- swarm key --------------------------------------------------------
  program.command('swarm-key')
    .description('generate a swarm key (PSK v1) for the fleet\'s private network')
    .requiredOption('--out <file>', 'file to write (mode 0600)')
    .option('--force', 'overwrite an existing file')
    .action(async (o: { out: string, force?: boolean }) => {
      const out = resolve(o.out)
      if (existsSync(out) && o.force !== true) throw new UsageError(`${out} exists; use --force to replace the fleet's swarm key`)
      await writeFileAtomic(out, generateSwarmKey(), 0o600)
      io.stdout(`swarm key written to ${out}\n`)
    })

  // ---- init -------------------------------------------------------------
  program.command('init')
    .description('prepare a data directory: identity key, config.json, API token; prints the PeerId for the authority')
    .requiredOption('--data-dir <dir>', 'data directory to create')
    .addOption(new Option('--role <role>', 'node role').choices(['vehicle', 'station']).makeOptionMandatory())
    .requiredOption('--region <geohash>', 'region (geohash prefix)')
    .option('--authority-pub <file>', 'trusted authority public key file (repeatable)', collect)
    .option('--swarm-key <file>', 'the fleet\'s swarm key (copied into the data directory)')
    .option('--bootstrap <multiaddr>', 'bootstrap peer (repeatable)', collect)
    .option('--listen <multiaddr>', 'listen address (repeatable)', collect)
    .option('--worker', 'serve jobs (worker.enabled = true)')
    .option('--set <key=value>', 'any other config key (repeatable)', collect)
    .option('--force', 'rewrite an existing config.json (the identity is kept)')
    .option('--json', 'print {peerId, dataDir, configFile} as JSON')
    .action(async (o: { dataDir: string, role: string, region: string, authorityPub?: string[], swarmKey?: string, bootstrap?: string[], listen?: string[], worker?: boolean, set?: string[], force?: boolean, json?: boolean }) => {
      const dataDir = resolve(o.dataDir)
      const configFile = join(dataDir, CONFIG_FILE)
      if (existsSync(configFile) && o.force !== true) throw new UsageError(`${configFile} exists; use --force to rewrite it (the identity is kept)`)
      const sets = parseSets(o.set)
      const authorities: string[] = []
      for (const f of o.authorityPub ?? []) {
        const text = (await readInputFile(f, 'authority public key')).toString('utf8').trim()
        try { importAuthorityPublicKey(text) } catch { throw new UsageError(`authority public key ${f}: not a base64 libp2p public key (use authority.pub from \`fleetmesh authority init\`)`) }
        authorities.push(text)
      }
      let swarmKey: Uint8Array | undefined
      if (o.swarmKey != null) swarmKey = parseSwarmKey(await readInputFile(o.swarmKey, 'swarm key'))
      const config: Record<string, any> = { dataDir: '.', role: o.role, region: o.region, authorities }
      if (swarmKey != null) config.swarmKeyFile = 'swarm.key'
      if (o.bootstrap != null) config.bootstrap = o.bootstrap
      if (o.listen != null) config.listen = o.listen
      if (o.worker === true) config.worker = { enabled: true }
      // validate every key before touching the data directory (no authority yet is fine: it can be added later)
      loadConfig({ env: {}, allowNoAuthorities: true, flags: { ...sets, role: o.role, region: o.region, authorities, dataDir, bootstrap: o.bootstrap, listen: o.listen } })
      for (const [k, v] of Object.entries(sets)) {
        const parts = k.split('.')
        let at = config
        for (const p of parts.slice(0, -1)) at = (at[p] ??= {})
        at[parts[parts.length - 1] as string] = coerceValue(k, v)
      }
      await mkdir(dataDir, { recursive: true, mode: 0o700 })
      await chmod(dataDir, 0o700).catch(() => {})
      const key = await loadOrCreateIdentity(dataDir)
      await loadOrCreateToken(dataDir)
      if (swarmKey != null) await writeFileAtomic(join(dataDir, 'swarm.key'), swarmKey, 0o600)
      const tmp = `${configFile}.tmp`
      await writeFile(tmp, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 })
      try {
        loadConfig({ file: tmp, env: {}, allowNoAuthorities: true })
      } catch (err: any) {
        await rm(tmp, { force: true })
        throw err
      }
      await rename(tmp, configFile)
      const peerId = peerIdFromPrivateKey(key).toString()
      if (o.json === true) {
        io.stdout(JSON.stringify({ peerId, dataDir, configFile }) + '\n')
        return
      }
      io.stdout(`peerId ${peerId}\nconfig ${configFile}\n`)
      if (authorities.length === 0) io.stdout('no trusted authority yet: add its public key to "authorities" in config.json\n')
      const owner = o.role === 'vehicle' ? ' --owner OWNER_ACCOUNT' : ''
      io.stdout(`next: the fleet authority runs\n  fleetmesh authority issue --authority DIR --peer ${peerId} --role ${o.role} --region ${o.region}${owner} --out ${join(dataDir, CERTIFICATE_FILE)}\nthen start the node with\n  fleetmesh daemon --data-dir ${dataDir}\n`)
    })

  // ---- daemon -----------------------------------------------------------
  program.command('daemon')
    .description('run a node with its local API until SIGINT/SIGTERM or POST /api/v1/shutdown')
    .option('--config <file>', 'JSON config file (default: <data-dir>/config.json)')
    .option('--data-dir <dir>', 'data directory')
    .addOption(new Option('--role <role>', 'node role').choices(['vehicle', 'station']))
    .option('--region <geohash>', 'region (geohash prefix)')
    .option('--listen <multiaddr>', 'listen address (repeatable)', collect)
    .option('--announce <multiaddr>', 'announced address (repeatable)', collect)
    .option('--bootstrap <multiaddr>', 'bootstrap peer (repeatable)', collect)
    .option('--swarm-key-file <file>', 'swarm key file')
    .option('--certificate-file <file>', 'certificate file')
    .option('--authority <keyOrFile>', 'trusted authority public key or its file (repeatable)', collect)
    .option('--mdns', 'discover LAN peers with mDNS')
    .option('--api-host <host>', 'API listen address (127.0.0.1 or ::1)')
    .option('--api-port <port>', 'API port (0 = any)')
    .option('--worker', 'serve jobs')
    .option('--price-per-unit <credits>', 'worker asking price per compute unit')
    .option('--max-leases <n>', 'worker: most leases at once')
    .option('--scripted-vehicle', 'vehicle state set through the API (testnets)')
    .option('--bid-window-ms <ms>', 'bid window of submitted jobs, ms')
    .option('--log-level <level>', 'error, warn, info or debug')
    .option('--set <key=value>', 'any config key (repeatable)', collect)
    .action(async (o: Record<string, any>) => {
      const named: Record<string, unknown> = {
        dataDir: o.dataDir,
        role: o.role,
        region: o.region,
        listen: o.listen,
        announce: o.announce,
        bootstrap: o.bootstrap,
        swarmKeyFile: o.swarmKeyFile,
        certificateFile: o.certificateFile,
        authorities: o.authority,
        mdns: o.mdns === true ? true : undefined,
        'api.host': o.apiHost,
        'api.port': o.apiPort,
        'worker.enabled': o.worker === true ? true : undefined,
        'worker.pricePerUnit': o.pricePerUnit,
        'worker.maxLeases': o.maxLeases,
        'vehicle.scripted': o.scriptedVehicle === true ? true : undefined,
        'market.bidWindowMs': o.bidWindowMs,
        logLevel: o.logLevel
      }
      // a named flag beats the same key in --set
      const flags: Record<string, unknown> = { ...parseSets(o.set), ...Object.fromEntries(Object.entries(named).filter(([, v]) => v !== undefined)) }
      const config = loadConfig({ file: o.config, env: io.env, flags })
      const say = consoleLog(config.logLevel)
      const daemon = await startDaemon(config, { log: say })
      let signals = 0
      const onSignal = (sig: string): void => {
        signals++
        if (signals > 1) {
          say('warn', `second ${sig}: exiting at once`)
          process.exit(1)
        }
        say('info', `${sig}: shutting down`)
        void daemon.stop()
      }
      const onInt = (): void => { onSignal('SIGINT') }
      const onTerm = (): void => { onSignal('SIGTERM') }
      process.on('SIGINT', onInt)
      process.on('SIGTERM', onTerm)
      // started by npm (`npm run fleetmesh`, `npx fleetmesh`): a killed npm does not always pass its signal on, so its exit counts as one
      let parentTimer: ReturnType<typeof setInterval> | undefined
      if (io.env.npm_command != null || io.env.npm_lifecycle_event != null) {
        const parent = process.ppid
        const npm = npmAncestor()
        parentTimer = setInterval(() => {
          if (process.ppid === parent && (npm == null || isAlive(npm))) return
          clearInterval(parentTimer)
          onSignal('npm exited')
        }, PARENT_CHECK_INTERVAL_MS)
        parentTimer.unref()
      }
      try {
        await daemon.closed
      } finally {
        clearInterval(parentTimer)
        process.off('SIGINT', onInt)
        process.off('SIGTERM', onTerm)
      }
    })

  // ---- submit -----------------------------------------------------------
  withConnect(program.command('submit'))
    .description('submit an inference job to the mesh through the local daemon and write its outputs as .npy files')
    .requiredOption('--model <fileOrCid>', 'ONNX model file (uploaded) or the CID of a model the mesh has')
    .requiredOption('--input <name=file.npy>', 'named input tensor from a .npy file (repeatable)', collect)
    .addOption(new Option('--mode <mode>', 'data- or pipeline-parallel').choices(['data', 'pipeline']).default('data'))
    .option('--shards <n>', 'data: worker leases', intArg('--shards', 1, 1024))
    .option('--stages <n>', 'pipeline: stages', intArg('--stages', 1, 64))
    .option('--micro-batch <n>', 'items per micro-batch', intArg('--micro-batch', 1))
    .requiredOption('--max-price <credits>', 'most credits per compute unit', numberArg('--max-price'))
    .option('--deadline-ms <ms>', 'time the job may take, ms', intArg('--deadline-ms', 1))
    .option('--region <geohash>', 'region whose workers may bid (default: the node\'s)')
    .option('--grace <ms>', 'fail when no acceptable bid came within the bid window plus this long, ms', intArg('--grace', 0, 3_600_000))
    .option('--jurisdiction <name>', 'data residency: only workers whose certificate names this jurisdiction (e.g. eu) get the job, its model and its inputs')
    .option('--out <dir>', 'directory for the outputs (<out>/<name>.npy)', '.')
    .action(async (o: { model: string, input: string[], mode: 'data' | 'pipeline', shards?: number, stages?: number, microBatch?: number, maxPrice: number, deadlineMs?: number, region?: string, grace?: number, jurisdiction?: string, out: string, json?: boolean } & ConnectOptions) => {
      // read everything local first: bad input fails before the daemon is asked
      const inputs: WireTensor[] = []
      for (const spec of o.input) {
        const i = spec.indexOf('=')
        if (i <= 0 || i === spec.length - 1) throw new UsageError(`--input ${JSON.stringify(spec)}: expected name=file.npy, e.g. --input x=batch.npy`)
        const name = spec.slice(0, i)
        const file = spec.slice(i + 1)
        if (inputs.some(t => t.name === name)) throw new UsageError(`--input ${name} is given twice`)
        inputs.push(tensorFromNpy(name, await readInputFile(file, `input ${name}:`), file))
      }
      let modelBytes: Uint8Array | undefined
      let cid: string | undefined
      if (existsSync(o.model)) {
        modelBytes = await readInputFile(o.model, 'model')
      } else {
        try {
          cid = parseModelCid(o.model).toString()
        } catch {
          throw new UsageError(`model ${o.model}: no such file, and not a model CID`)
        }
      }
      const client = await connect(o, io)
      if (modelBytes != null) cid = (await client.uploadModel(modelBytes)).cid
      const { jobId } = await client.submit({ model: cid as string, inputs, mode: o.mode, shards: o.shards, stages: o.stages, microBatch: o.microBatch, maxPrice: o.maxPrice, deadlineMs: o.deadlineMs, graceMs: o.grace, region: o.region, jurisdiction: o.jurisdiction })
      const view = await follow(client, jobId, io)
      if (view.state !== 'done') throw new JobError(placementMessage(view, { maxPrice: o.maxPrice, region: o.region, graceMs: o.grace }) ?? `job ${jobId} ${view.state}${view.error != null ? `: ${view.error}` : ''}`)
      const outputs = await client.result(jobId)
      const outDir = resolve(o.out)
      await mkdir(outDir, { recursive: true })
      const written: string[] = []
      for (const t of outputs) {
        const safe = t.name.replace(/[^A-Za-z0-9._-]/g, '_')
        const file = join(outDir, `${safe}.npy`)
        await writeFile(file, writeNpy({ dtype: t.dtype, shape: t.dims, data: t.data }))
        written.push(file)
      }
      if (o.json === true) {
        io.stdout(JSON.stringify({ jobId, model: cid, outputs: written, workers: view.workers.length, microBatches: view.microBatches }) + '\n')
      } else {
        io.stdout(`job ${jobId} done in ${(view.finishedAt ?? Date.now()) - view.submittedAt} ms on ${new Set(view.workers.map(w => w.peerId)).size} workers; outputs: ${written.map(f => basename(f)).join(', ')} in ${outDir}\n`)
      }
    })

  // ---- views of a running daemon ----------------------------------------
  withConnect(program.command('status'))
    .description('the node: PeerId, role, region, addresses, uptime, peers')
    .action(async (o: ConnectOptions & { json?: boolean }) => {
      const client = await connect(o, io)
      const [info, peers] = await Promise.all([client.info(), client.peers()])
      if (o.json === true) { io.stdout(JSON.stringify({ ...info, peers: peers.length }) + '\n'); return }
      const rows: Array<[string, string]> = [
        ['peerId', info.peerId], ['role', info.role], ['region', info.region], ['version', info.version],
        ['uptime', `${Math.round(info.uptimeMs / 1000)} s`], ['worker', info.worker ? 'yes' : 'no'], ['peers', String(peers.length)],
        ['addresses', info.multiaddrs.join('\n')], ['API', client.url]
      ]
      if (info.vehicle != null) {
        const v = info.vehicle
        rows.push(['vehicle', `${v.state}${v.soc != null ? `, SoC ${Math.round(v.soc * 100)} %` : ''} (source ${v.source}${v.heardAt != null ? `, heard ${Math.round((Date.now() - v.heardAt) / 1000)} s ago` : ''})`])
        rows.push(['bidding', v.bidding ? `yes (${v.reason})` : `no: ${v.allowed ? 'draining' : v.reason}`])
      }
      const t = new Table({ style: { head: [], border: [] } })
      for (const r of rows) t.push(r)
      io.stdout(t.toString() + '\n')
    })

  withConnect(program.command('peers'))
    .description('admitted peers, nearest first')
    .action(async (o: ConnectOptions & { json?: boolean }) => {
      const peers = await (await connect(o, io)).peers()
      if (o.json === true) { io.stdout(JSON.stringify(peers) + '\n'); return }
      io.stdout(table(['peer', 'role', 'region', 'rtt ms', 'address'], peers.map(p => [p.peerId, p.role, p.region, p.rttMs != null ? Number(p.rttMs.toFixed(1)) : '', p.multiaddrs[0] ?? ''])))
    })

  withConnect(program.command('jobs'))
    .description('jobs submitted through this daemon, newest first, and leases held as a worker')
    .action(async (o: ConnectOptions & { json?: boolean }) => {
      const r = await (await connect(o, io)).jobs()
      if (o.json === true) { io.stdout(JSON.stringify(r) + '\n'); return }
      io.stdout(table(['job', 'mode', 'state', 'micro-batches', 'workers', 'submitted', 'error'], r.jobs.map(j => [j.jobId, j.mode, j.state, `${j.microBatches.done}/${j.microBatches.total}`, j.workers.peers, time(j.submittedAt), j.error ?? ''])))
      if (r.leases.length > 0) io.stdout(`holding ${r.leases.length} lease(s) as a worker\n`)
    })

  withConnect(program.command('receipts'))
    .description('countersigned work receipts from the ledger')
    .option('--job-id <id>', 'receipts of one job')
    .option('--worker <peerId>', 'receipts of one worker')
    .option('--requester <peerId>', 'receipts of one requester')
    .option('--limit <n>', 'most receipts', intArg('--limit', 1, 10_000), 50)
    .action(async (o: ConnectOptions & { json?: boolean, jobId?: string, worker?: string, requester?: string, limit: number }) => {
      const receipts = await (await connect(o, io)).receipts({ jobId: o.jobId, worker: o.worker, requester: o.requester, limit: o.limit })
      if (o.json === true) { io.stdout(JSON.stringify(receipts) + '\n'); return }
      io.stdout(table(['finished', 'job', 'shard', 'worker', 'requester', 'units', 'credits', 'compute ms'], receipts.map(r => [time(r.finishedAt), short(String(r.jobId)), r.shardIndex, short(String(r.worker)), short(String(r.requester)), r.units, Number(r.units) * Number(r.pricePerUnit), r.computeMs])))
    })

  withConnect(program.command('balance'))
    .description('credits per peer and per vehicle owner, from the ledger')
    .action(async (o: ConnectOptions & { json?: boolean }) => {
      const b = await (await connect(o, io)).balances()
      if (o.json === true) { io.stdout(JSON.stringify(b) + '\n'); return }
      const rows = (accounts: Record<string, any>): Array<Array<string | number>> => Object.entries(accounts ?? {}).map(([id, a]) => [id, a.earned ?? 0, a.spent ?? 0, a.credits ?? 0, a.receiptsAsWorker ?? 0, a.receiptsAsRequester ?? 0])
      io.stdout(table(['peer', 'earned', 'spent', 'credits', 'as worker', 'as requester'], rows(b.peers)))
      if (Object.keys(b.owners ?? {}).length > 0) io.stdout(table(['owner', 'earned', 'spent', 'credits', 'as worker', 'as requester'], rows(b.owners)))
      io.stdout(`from ${b.receipts ?? 0} countersigned receipts\n`)
    })

  withConnect(program.command('earnings'))
    .description('a worker\'s earnings per UTC day (default: this node)')
    .option('--peer <peerId>', 'the worker')
    .action(async (o: ConnectOptions & { json?: boolean, peer?: string }) => {
      const e = await (await connect(o, io)).earnings(o.peer)
      if (o.json === true) { io.stdout(JSON.stringify(e) + '\n'); return }
      io.stdout(`earnings of ${e.worker}\n`)
      io.stdout(table(['day', 'jobs', 'shards', 'units', 'compute ms', 'credits'], [...e.days.map(d => [d.day, d.jobs, d.shards, d.computeUnits, d.computeMs, d.credits]), ['total', e.total.jobs, e.total.shards, e.total.computeUnits, e.total.computeMs, e.total.credits]]))
    })

  withConnect(program.command('vehicle'))
    .description('set a scripted vehicle\'s state (testnets)')
    .addOption(new Option('--state <state>', 'drive state').choices(['parked', 'charging', 'driving']).makeOptionMandatory())
    .option('--soc <fraction>', 'battery state of charge, 0..1', (v: string) => {
      const n = Number(v)
      if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`--soc: expected a number 0..1, got ${JSON.stringify(v)}`)
      return n
    })
    .action(async (o: ConnectOptions & { json?: boolean, state: 'parked' | 'charging' | 'driving', soc?: number }) => {
      const r = await (await connect(o, io)).setVehicle({ state: o.state, soc: o.soc })
      io.stdout(o.json === true ? JSON.stringify(r) + '\n' : `vehicle ${r.state}, SoC ${Math.round(r.soc * 100)} %\n`)
    })

  withConnect(program.command('cancel'))
    .description('cancel a running job submitted through this daemon (DELETE /api/v1/jobs/:id)')
    .argument('<jobId>', 'the job (fleetmesh jobs lists them)')
    .action(async (jobId: string, o: ConnectOptions & { json?: boolean }) => {
      const r = await (await connect(o, io)).cancel(jobId)
      if (o.json === true) { io.stdout(JSON.stringify(r) + '\n'); return }
      if (!r.cancelled) throw new JobError(`job ${jobId} is ${r.state}; only a running job can be cancelled`)
      io.stdout(`job ${jobId} cancelled\n`)
    })

  withConnect(program.command('stop'))
    .description('ask the daemon to drain and exit (POST /api/v1/shutdown)')
    .action(async (o: ConnectOptions) => {
      await (await connect(o, io)).shutdown()
      io.stdout('stopping\n')
    })

  return program
}

/**
 * Follows a submitted job to its end: a progress bar on a terminal (rate,
 * ETA, workers, re-awards), else one plain line per change on stderr; Ctrl-C
 * (or SIGTERM) cancels the job on the daemon before giving up.
 */
async function follow (client: ApiClient, jobId: string, io: CliIo): Promise<JobView> {
  const tty = process.stderr.isTTY === true
  const bar = tty
    ? new cliProgress.SingleBar({
      stream: process.stderr,
      format: `job ${short(jobId)} [{bar}] {value}/{total} micro-batches | {rate} items/s | ETA {eta_s} | {workers} workers | {reawards} re-awards | {state}`,
      hideCursor: true,
      clearOnComplete: false
    }, cliProgress.Presets.shades_classic)
    : undefined
  let started = false
  let last = ''
  const stop = new AbortController()
  const onSignal = (): void => { stop.abort(new JobError(`job ${jobId} cancelled (interrupted)`)) }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    return await client.wait(jobId, {
      intervalMs: 200,
      signal: stop.signal,
      onProgress: (v) => {
        const f = progressFigures(v, Date.now())
        if (bar != null) {
          const payload = { state: v.state, workers: f.workers, reawards: f.reawards, rate: f.itemsPerSecond.toFixed(1), eta_s: f.etaSeconds != null ? `${Math.ceil(f.etaSeconds)} s` : '?' }
          if (!started) { bar.start(f.total, f.done, payload); started = true }
          bar.setTotal(f.total)
          bar.update(f.done, payload)
          return
        }
        const line = progressLine(v, Date.now())
        const key = `${f.done}/${f.total}/${f.workers}/${f.reawards}/${v.state}`
        if (key !== last) { last = key; io.stderr(line + '\n') }
      }
    })
  } catch (err: any) {
    if (stop.signal.aborted) {
      await client.cancel(jobId).catch(() => {})
      throw stop.signal.reason
    }
    throw err
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    if (started) bar?.stop()
  }
}

/** The pid of the npm process this one runs under (npm → sh → node), read from /proc; undefined where there is no /proc or no npm. */
function npmAncestor (): number | undefined {
  let pid = process.ppid
  for (let depth = 0; depth < 4 && pid > 1; depth++) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      if (/(^|[/\0])(npm|npx)(-cli\.js)?(\0|$)/.test(cmdline) || cmdline.includes('npm-cli.js') || cmdline.includes('npx-cli.js')) return pid
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    } catch {
      return undefined
    }
  }
  return undefined
}

function isAlive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch (err: any) { return err?.code === 'EPERM' }
}

/**
 * Runs the CLI with `argv` (without the node and script paths).
 *
 * @returns the exit code: {@link EXIT_OK} (0) on success and for `--help`/`--version`; {@link EXIT_USAGE} (2) for bad usage or config (commander's errors, UsageError, ConfigError); {@link EXIT_FAILURE} (1) for any other error. Every error prints one line `fleetmesh: <message>` on stderr.
 */
export async function main (argv: string[], io: CliIo = defaultIo): Promise<number> {
  const program = createProgram(io)
  try {
    if (argv.length === 0) throw new UsageError('missing command; run `fleetmesh --help`')
    await program.parseAsync(argv, { from: 'user' })
    return EXIT_OK
  } catch (err: any) {
    if (err instanceof CommanderError || err?.name === 'CommanderError') {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT_OK
      if (err.code === 'commander.help' || err.code === 'commander.executeSubCommandAsync') {
        io.stderr('fleetmesh: missing subcommand; run `fleetmesh --help`\n')
        return EXIT_USAGE
      }
      io.stderr(errorLine(err) + '\n')
      return EXIT_USAGE
    }
    io.stderr(errorLine(err) + '\n')
    return exitCodeOf(err)
  }
}

/** The exit code of an error: {@link EXIT_USAGE} for UsageError and ConfigError, else {@link EXIT_FAILURE}. */
export function exitCodeOf (err: any): number {
  return err?.name === 'ConfigError' || err?.name === 'UsageError' ? EXIT_USAGE : EXIT_FAILURE
}
