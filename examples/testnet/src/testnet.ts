/**
 * A local fleetmesh testnet on 127.0.0.0/8: generates a fleet authority, a
 * swarm key and one certificate per node, starts every node as its own
 * process, waits until all are admitted and announced in the DHT, then
 * prints each node's peer table and the stations each vehicle finds nearest
 * first. Stops every process and removes its files before it exits.
 *
 * Usage: npm run testnet -- [--stations 2] [--vehicles 6] [--regions u33d,u33e] [--keep-running]
 */
import { fork } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createAuthority, exportAuthorityPublicKey, generateSwarmKey, issueCertificate, loadOrCreateIdentity } from '@fleetmesh/peer'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { NodeProcessConfig, PeerRow } from './node-process.js'
import type { NodeRole } from '@fleetmesh/peer'
import type { ChildProcess } from 'node:child_process'

const { values: args } = parseArgs({
  options: {
    stations: { type: 'string', default: '2' },
    vehicles: { type: 'string', default: '6' },
    regions: { type: 'string', default: 'u33d,u33e' },
    'keep-running': { type: 'boolean', default: false },
    'ready-timeout': { type: 'string', default: '60000' }
  }
})
const stationCount = Number(args.stations)
const vehicleCount = Number(args.vehicles)
const regions = String(args.regions).split(',').filter(Boolean)
if (!Number.isInteger(stationCount) || stationCount < 1 || !Number.isInteger(vehicleCount) || vehicleCount < 0 || regions.length === 0) {
  console.error('usage: npm run testnet -- [--stations N>=1] [--vehicles N>=0] [--regions r1,r2]')
  process.exit(2)
}

interface Running { name: string, role: NodeRole, region: string, child: ChildProcess, peerId: string, addrs: string[] }

const root = await mkdtemp(join(tmpdir(), 'fleetmesh-testnet-'))
const children: ChildProcess[] = []
let nextId = 1

async function cleanup (): Promise<void> {
  await Promise.all(children.map(async child => {
    if (child.exitCode != null || child.signalCode != null) return
    const exited = new Promise(resolve => child.once('exit', resolve))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }))
  await rm(root, { recursive: true, force: true })
}
process.on('SIGINT', () => { void cleanup().then(() => process.exit(130)) })

async function request (node: Running, msg: Record<string, unknown>): Promise<any> {
  const id = nextId++
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`${node.name} did not answer ${String(msg.type)} within 30 s`)) }, 30_000)
    const onMessage = (reply: any): void => {
      if (reply?.id !== id) return
      clearTimeout(timer)
      node.child.off('message', onMessage)
      if (reply.ok === true) resolve(reply); else reject(new Error(`${node.name}: ${String(reply.error)}`))
    }
    node.child.on('message', onMessage)
    node.child.send({ ...msg, id })
  })
}

async function start (name: string, role: NodeRole, region: string, index: number, bootstrap: string[], authority: Awaited<ReturnType<typeof createAuthority>>, swarmKey: Uint8Array): Promise<Running> {
  const dataDir = join(root, name)
  const key = await loadOrCreateIdentity(dataDir)
  const certificate = await issueCertificate(authority, { peerId: peerIdFromPrivateKey(key), role, region, validForMs: 24 * 3600_000, owner: role === 'vehicle' ? `owner-${index}` : '' })
  const config: NodeProcessConfig = {
    name,
    role,
    region,
    dataDir,
    certificate: Buffer.from(certificate).toString('base64'),
    swarmKey: new TextDecoder().decode(swarmKey),
    trustedAuthorities: [exportAuthorityPublicKey(authority.publicKey)],
    // every node its own loopback address (all of 127.0.0.0/8 is loopback on Linux)
    listen: [`/ip4/127.0.${role === 'station' ? 10 : 20}.${index + 1}/tcp/0`],
    bootstrap
  }
  const file = join(root, `${name}.json`)
  await writeFile(file, JSON.stringify(config))
  const child = fork(new URL('./node-process.js', import.meta.url), [file], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  children.push(child)
  const readyTimeout = Number(args['ready-timeout'])
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`${name} was not ready within ${readyTimeout} ms`)) }, readyTimeout)
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${name} exited with code ${code} before it was ready`)) })
    child.on('message', (msg: any) => {
      if (msg?.type === 'ready') {
        clearTimeout(timer)
        resolve({ name, role, region, child, peerId: msg.peerId, addrs: msg.addrs })
      }
    })
  })
}

const short = (id: string): string => `…${id.slice(-8)}`
const fmtRtt = (ms?: number): string => ms == null ? '-' : `${ms} ms`

try {
  const started = Date.now()
  const authority = await createAuthority()
  const swarmKey = generateSwarmKey()
  console.log(`fleetmesh testnet: ${stationCount} stations + ${vehicleCount} vehicles in ${regions.join(', ')} (authority ${short(authority.id)}, data in ${root})`)
  // the first station is the bootstrap node; the others start in parallel
  const first = await start('station-1', 'station', regions[0] as string, 0, [], authority, swarmKey)
  const boot = first.addrs
  const rest = await Promise.all([
    ...Array.from({ length: stationCount - 1 }, async (_, i) => start(`station-${i + 2}`, 'station', regions[(i + 1) % regions.length] as string, i + 1, boot, authority, swarmKey)),
    ...Array.from({ length: vehicleCount }, async (_, i) => start(`vehicle-${i + 1}`, 'vehicle', regions[i % regions.length] as string, i, boot, authority, swarmKey))
  ])
  const nodes = [first, ...rest]
  console.log(`all ${nodes.length} nodes admitted and announced in ${Date.now() - started} ms\n`)

  console.log('peer tables (admitted peers, nearest first):')
  for (const node of nodes) {
    const { peers } = await request(node, { type: 'peers' }) as { peers: PeerRow[] }
    console.log(`  ${node.name.padEnd(11)} ${node.role.padEnd(8)} ${node.region.padEnd(6)} ${short(node.peerId)}  ${peers.length} peers: ${peers.slice(0, 6).map(p => `${p.role[0]}:${p.region}:${short(p.peerId)}`).join(' ')}${peers.length > 6 ? ' …' : ''}`)
  }

  console.log('\nstations found by DHT from each vehicle (nearest first: same region, then RTT):')
  for (const node of nodes.filter(n => n.role === 'vehicle')) {
    const t = Date.now()
    const { peers } = await request(node, { type: 'find', query: { role: 'station', timeoutMs: 5000 } }) as { peers: PeerRow[] }
    console.log(`  ${node.name.padEnd(11)} ${node.region.padEnd(6)} → ${peers.map(p => `${short(p.peerId)} (${p.region}, shared ${p.sharedPrefix}, rtt ${fmtRtt(p.rttMs)})`).join(', ')}  [${Date.now() - t} ms]`)
  }

  if (args['keep-running'] === true) {
    console.log('\nrunning; press Ctrl-C to stop')
    await new Promise(() => {})
  }
  console.log('\nstopping every node…')
  await Promise.all(nodes.map(async n => request(n, { type: 'stop' }).catch(() => {})))
  await cleanup()
  console.log('testnet stopped cleanly')
} catch (err: any) {
  console.error(`testnet failed: ${err?.message ?? err}`)
  await cleanup()
  process.exit(1)
}
