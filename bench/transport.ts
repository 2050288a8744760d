/**
 * bench/transport: the data plane under inference, each ratio measured
 * side by side in this one run, on loopback:
 *  - `streamOverRawTcp`: one libp2p stream between two mesh nodes in this
 *    process (TCP + pnet + noise + yamux, the nodes' own config), 1 MiB
 *    writes honouring send() back-pressure, MB/s ÷ a raw TCP socket's MB/s
 *    with the same writes; `streamOverRawTcpTwoProcesses`: the same with the
 *    receiving node (and the raw TCP reader) in a second process, so each
 *    end has its own core as on two machines,
 *  - `pnetCipherMBps` / `pnetCipherJsMBps`: the pnet XSalsa20 keystream in
 *    this process, 64 KiB buffers (the native backend and the pure-JS one it
 *    replaced, side by side),
 *  - `modelTransferOverRawTcp` (`…TwoProcesses`): a 64 MiB model fetched over
 *    /fleetmesh/model (request to verified, stored entry) ÷ the same bytes
 *    over raw TCP.
 * Each libp2p run alternates with its raw TCP run; the figures are medians.
 * Run: npm run bench:transport -- [--mib 128] [--model-mib 64] [--runs 5] [--only stream|cipher|model] [--processes 1|2|both]
 * Profile one stream: node --cpu-prof bench/dist/transport.js --only stream --processes 1 --mib 256 --runs 1
 */
import { fork } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { xsalsa20 } from '@noble/ciphers/salsa.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { createAuthority, createMeshNode, createPnetKeystream, exportAuthority, generateSwarmKey, issueCertificate, pnetCipherBackend } from '@fleetmesh/peer'
import { handleSink, interleavedMedians, median, modelOf, rawSinkServer, rawSourceServer, timeFetch, timeRawSink, timeRawSource, timeStream, WRITE_BYTES } from './transport-parts.js'
import type { FleetAuthority, MeshNode, NodeRole } from '@fleetmesh/peer'
import type { PeerId } from '@libp2p/interface'

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '128' },
    'model-mib': { type: 'string', default: '64' },
    runs: { type: 'string', default: '5' },
    only: { type: 'string' },
    processes: { type: 'string', default: 'both' }
  }
})
const STREAM_BYTES = Number(values.mib) * 1024 * 1024
const MODEL_MIB = Number(values['model-mib'])
const RUNS = Number(values.runs)
const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d
const want = (part: string): boolean => values.only == null || values.only === part

/** The pnet keystream over 64 KiB buffers, MB/s on one core. */
function cipherMBps (backend: 'native' | 'js'): number {
  const key = new Uint8Array(32).fill(7)
  const nonce = new Uint8Array(24).fill(9)
  const buf = new Uint8Array(64 * 1024)
  const total = (backend === 'native' ? 256 : 64) * 1024 * 1024
  const xor = backend === 'native'
    ? ((ks) => (b: Uint8Array) => ks.xor(b))(createPnetKeystream(key, nonce))
    : ((counter) => (b: Uint8Array) => { const out = xsalsa20(key, nonce, b, undefined, counter); counter += b.byteLength / 64; return out })(0)
  for (let i = 0; i < 64; i++) xor(buf)
  const t = performance.now()
  for (let at = 0; at < total; at += buf.byteLength) xor(buf)
  return total / 1e6 / ((performance.now() - t) / 1000)
}

async function meshNode (authority: FleetAuthority, swarmKey: Uint8Array, role: NodeRole, host: string, dir: string): Promise<MeshNode> {
  const privateKey = await generateKeyPair('Ed25519')
  const certificate = await issueCertificate(authority, { peerId: peerIdFromPrivateKey(privateKey), role, region: 'u33d' })
  return createMeshNode({ role, region: 'u33d', privateKey, certificate, swarmKey, trustedAuthorities: [authority.publicKey], listen: [`/ip4/${host}/tcp/0`], modelStore: { dir } })
}

/** The far end: where the stream sink, the model and the raw TCP servers live. */
interface FarEnd { peerId: PeerId, addr: string, host: string, sinkPort: number, sourcePort: number, cid: string, stop: () => Promise<void> }

async function farEndHere (authority: FleetAuthority, swarmKey: Uint8Array, host: string, dir: string): Promise<FarEnd> {
  const node = await meshNode(authority, swarmKey, 'station', host, dir)
  await handleSink(node, STREAM_BYTES)
  const model = modelOf(MODEL_MIB)
  const { cid } = await node.addModel(model)
  const sink = await rawSinkServer(host, STREAM_BYTES)
  const source = await rawSourceServer(host, model)
  return { peerId: node.peerId, addr: String(node.getMultiaddrs()[0]), host, sinkPort: sink.port, sourcePort: source.port, cid, stop: async () => { sink.close(); source.close(); await node.stop() } }
}

async function farEndProcess (authority: FleetAuthority, swarmKey: Uint8Array, host: string): Promise<FarEnd> {
  const child = fork(new URL('./transport-peer.js', import.meta.url), [JSON.stringify({ authority: exportAuthority(authority), swarmKey: Buffer.from(swarmKey).toString('base64'), host, streamBytes: STREAM_BYTES, modelMib: MODEL_MIB })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const ready = await new Promise<any>((resolve, reject) => {
    child.once('message', resolve)
    child.once('exit', (code) => { reject(new Error(`bench peer process exited with ${code}`)) })
  })
  return {
    peerId: peerIdFromString(ready.peerId),
    addr: ready.addr,
    host,
    sinkPort: ready.sinkPort,
    sourcePort: ready.sourcePort,
    cid: ready.cid,
    stop: async () => { child.disconnect(); await new Promise(resolve => child.once('exit', resolve)) }
  }
}

/** Wraps a timed run to also record this process's CPU time for it (user + system, s) in `cpu`. */
function withCpu<T> (cpu: number[], fn: () => Promise<T>): () => Promise<T> {
  return async () => {
    const start = process.cpuUsage()
    const out = await fn()
    const used = process.cpuUsage(start)
    cpu.push((used.user + used.system) / 1e6)
    return out
  }
}

/**
 * Stream and model figures between a local node and `far`. With both ends in
 * this process, `…CpuOverRawTcp` compares MB per CPU-second of this process
 * too: a ratio a shared machine's load moves far less than wall time.
 */
async function measure (near: MeshNode, far: FarEnd, suffix: string, figures: Record<string, number>, detail: Record<string, unknown>): Promise<void> {
  await near.connect(far.addr)
  const cpuRatio = (bytes: number, p2pCpu: number[], tcpCpu: number[]): Record<string, number> => {
    const [p, t] = [bytes / 1e6 / median(p2pCpu.slice(1)), bytes / 1e6 / median(tcpCpu.slice(1))]
    return { libp2pMBPerCpuS: round(p, 1), rawTcpMBPerCpuS: round(t, 1), ratio: round(p / t) }
  }
  if (want('stream')) {
    const p2pCpu: number[] = []
    const tcpCpu: number[] = []
    const [p2p, tcp] = await interleavedMedians(RUNS, withCpu(p2pCpu, async () => timeStream(near, far.peerId, STREAM_BYTES)), withCpu(tcpCpu, async () => timeRawSink(far.host, far.sinkPort, STREAM_BYTES)))
    figures[`streamOverRawTcp${suffix}`] = round(p2p / tcp)
    const cpu = cpuRatio(STREAM_BYTES, p2pCpu, tcpCpu)
    if (suffix === '') figures.streamCpuOverRawTcp = cpu.ratio as number
    detail[`stream${suffix}`] = { bytes: STREAM_BYTES, writeBytes: WRITE_BYTES, libp2pMBps: round(p2p, 1), rawTcpMBps: round(tcp, 1), ...(suffix === '' ? { cpu } : {}) }
  }
  if (want('model')) {
    const p2pCpu: number[] = []
    const tcpCpu: number[] = []
    const [ms, tcp] = await interleavedMedians(RUNS, withCpu(p2pCpu, async () => timeFetch(near, far.cid, far.peerId)), withCpu(tcpCpu, async () => timeRawSource(far.host, far.sourcePort)))
    const bytes = near.modelStore?.info(far.cid).size ?? 0
    const p2p = bytes / 1e6 / (ms / 1000)
    figures[`modelTransferOverRawTcp${suffix}`] = round(p2p / tcp)
    const cpu = cpuRatio(bytes, p2pCpu, tcpCpu)
    if (suffix === '') figures.modelTransferCpuOverRawTcp = cpu.ratio as number
    detail[`modelTransfer${suffix}`] = { modelBytes: bytes, fetchMs: round(ms, 1), libp2pMBps: round(p2p, 1), rawTcpMBps: round(tcp, 1), ...(suffix === '' ? { cpu } : {}) }
  }
}

const loadBefore = loadavg()[0] as number
const figures: Record<string, number> = {}
const detail: Record<string, unknown> = { pnetCipherBackend: pnetCipherBackend() }

if (want('cipher')) {
  figures.pnetCipherMBps = round(cipherMBps('native'), 1)
  figures.pnetCipherJsMBps = round(cipherMBps('js'), 1)
}

if (want('stream') || want('model')) {
  const authority = await createAuthority()
  const swarmKey = generateSwarmKey()
  const dir = await mkdtemp(join(tmpdir(), 'fleetmesh-bench-transport-'))
  try {
    for (const processes of values.processes === 'both' ? ['1', '2'] : [values.processes]) {
      const near = await meshNode(authority, swarmKey, 'vehicle', `127.0.9.${processes === '1' ? 2 : 4}`, join(dir, `near${processes}`))
      const far = processes === '1' ? await farEndHere(authority, swarmKey, '127.0.9.1', join(dir, 'far')) : await farEndProcess(authority, swarmKey, '127.0.9.3')
      try {
        await measure(near, far, processes === '1' ? '' : 'TwoProcesses', figures, detail)
      } finally {
        await Promise.allSettled([near.stop(), far.stop()])
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

console.log(JSON.stringify({ figures, ...detail, runs: RUNS, loadAverage1m: { before: round(loadBefore, 2), after: round(loadavg()[0] as number, 2) }, cores: navigator.hardwareConcurrency }, null, 2))
