import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createAuthority, exportAuthorityPublicKey, generateSwarmKey, issueCertificate, loadOrCreateIdentity } from '@fleetmesh/peer'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { DaemonConfig } from '../../src/config.js'
import type { FleetAuthority } from '@fleetmesh/peer'
import type { ChildProcess } from 'node:child_process'

/** The built CLI (dist/src/bin.js), next to this file's dist/test/utils. */
export const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/bin.js')

let hostCounter = 0

/** The next unused loopback host, 127.<a>.<b>.<c>, moving with the process id so parallel runs do not collide. */
export function nextLoopbackHost (): string {
  hostCounter++
  const n = 4096 + ((process.pid * 13) % 4000) * 16 + hostCounter
  return `127.${(n >> 16) & 0xff}.${(n >> 8) & 0xff}.${(n & 0xff) === 0 ? 1 : n & 0xff}`
}

/** A temporary directory; removed by {@link cleanupDirs}. */
const dirs: string[] = []
export async function tempDir (prefix = 'fleetmesh-daemon-'): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix))
  dirs.push(d)
  return d
}
export async function cleanupDirs (): Promise<void> {
  await Promise.all(dirs.splice(0).map(async d => rm(d, { recursive: true, force: true })))
}

/** A fleet authority and swarm key for in-process daemons. */
export interface TestFleet {
  authority: FleetAuthority
  swarmKeyFile: string
  authorityPub: string
  root: string
}

export async function createTestFleet (): Promise<TestFleet> {
  const root = await tempDir()
  const authority = await createAuthority()
  const swarmKeyFile = join(root, 'swarm.key')
  await writeFile(swarmKeyFile, generateSwarmKey())
  return { authority, swarmKeyFile, authorityPub: exportAuthorityPublicKey(authority.publicKey), root }
}

/** A complete config for a node of `fleet` with its certificate issued; `over` replaces top-level keys. */
export async function nodeConfig (fleet: TestFleet, name: string, role: 'station' | 'vehicle', over: Partial<DaemonConfig> = {}): Promise<DaemonConfig> {
  const dataDir = join(fleet.root, name)
  const key = await loadOrCreateIdentity(dataDir)
  const certificateFile = join(dataDir, 'certificate')
  await writeFile(certificateFile, await issueCertificate(fleet.authority, { peerId: peerIdFromPrivateKey(key), role, region: 'u33d', validForMs: 3600_000 }))
  return {
    dataDir,
    role,
    region: 'u33d',
    listen: [`/ip4/${nextLoopbackHost()}/tcp/0`],
    announce: [],
    bootstrap: [],
    swarmKeyFile: fleet.swarmKeyFile,
    certificateFile,
    authorities: [fleet.authorityPub],
    mdns: false,
    gossipIpWhitelist: ['127.0.0.1'],
    api: { host: '127.0.0.1', port: 0 },
    worker: { enabled: false, pricePerUnit: 1, loadFactor: 0.5, maxLeases: 4, availability: { whileCharging: true, whileParked: true, minParkedSoc: 0.5, minChargingSoc: 0, maxBatteryTempC: 45 } },
    vehicle: { scripted: false, state: 'parked', soc: 0.8, batteryTempC: 20 },
    inference: { runners: 1, intraOpNumThreads: 1 },
    market: { bidWindowMs: 400 },
    modelStore: { maxModelBytes: 64 * 1024 * 1024 },
    logLevel: 'error',
    ...over
  }
}

/** What a finished CLI run printed. */
export interface CliRun {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Children started by {@link runCli} and {@link spawnCli}, killed by {@link killAll}. */
const children = new Set<ChildProcess>()

/** Spawns the CLI (`process.execPath dist/src/bin.js …`) without waiting; the child is tracked for {@link killAll}. */
export function spawnCli (args: string[], options: { env?: Record<string, string | undefined>, cwd?: string } = {}): ChildProcess & { out: { stdout: string, stderr: string } } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: { ...process.env, DEBUG: '', FLEETMESH_API: '', FLEETMESH_TOKEN: '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe']
  }) as ChildProcess & { out: { stdout: string, stderr: string } }
  child.out = { stdout: '', stderr: '' }
  child.stdout?.setEncoding('utf8').on('data', (d: string) => { child.out.stdout += d })
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { child.out.stderr += d })
  children.add(child)
  child.once('exit', () => { children.delete(child) })
  return child
}

/** Runs the CLI to the end (killed after `timeoutMs`). */
export async function runCli (args: string[], options: { env?: Record<string, string | undefined>, cwd?: string, timeoutMs?: number } = {}): Promise<CliRun> {
  const child = spawnCli(args, options)
  return waitExit(child, options.timeoutMs ?? 60_000)
}

/** Waits for a spawned CLI to exit; SIGKILLs it after `timeoutMs` and rejects. */
export async function waitExit (child: ChildProcess & { out: { stdout: string, stderr: string } }, timeoutMs: number): Promise<CliRun> {
  if (child.exitCode != null || child.signalCode != null) return { code: child.exitCode, signal: child.signalCode, ...child.out }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`fleetmesh ${child.spawnargs.slice(2).join(' ')} did not exit within ${timeoutMs} ms; stderr: ${child.out.stderr.slice(-500)}`))
    }, timeoutMs)
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, ...child.out })
    })
  })
}

/** SIGKILLs every child still running. */
export async function killAll (): Promise<void> {
  await Promise.all([...children].map(async child => {
    if (child.exitCode != null || child.signalCode != null) return
    const exited = new Promise(resolve => child.once('exit', resolve))
    child.kill('SIGKILL')
    await Promise.race([exited, new Promise(resolve => setTimeout(resolve, 5000))])
  }))
}

/** Resolves when `predicate` holds, polling every `intervalMs`; rejects after `timeoutMs` naming `what`. */
export async function waitUntil (predicate: () => boolean | Promise<boolean>, timeoutMs: number, what: string, intervalMs = 100): Promise<void> {
  const start = Date.now()
  while (true) {
    if (await predicate()) return
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
}
