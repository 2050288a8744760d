/**
 * bench/transport: the data plane under inference, each ratio measured
 * side by side in this one run, on loopback:
 *  - `streamOverRawTcp`: one libp2p stream between two mesh nodes (TCP +
 *    pnet + noise + yamux, the nodes' own config), 1 MiB writes honouring
 *    send() back-pressure, MB/s ÷ a raw TCP socket's MB/s (same writes),
 *  - `pnetCipherMBps` / `pnetCipherJsMBps`: the pnet XSalsa20 keystream in
 *    this process, 64 KiB buffers (native backend and the pure-JS one it
 *    replaced, side by side),
 *  - `modelTransferOverRawTcp`: a 64 MiB model fetched over
 *    /fleetmesh/model (request to verified, stored entry) ÷ the same bytes
 *    over raw TCP.
 * Run: npm run bench:transport -- [--mib 256] [--model-mib 64] [--runs 3] [--only stream|cipher|model]
 * Profile one stream: node --cpu-prof bench/dist/transport.js --only stream --mib 256 --runs 1
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, connect } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { xsalsa20 } from '@noble/ciphers/salsa.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createAuthority, createMeshNode, createPnetKeystream, generateSwarmKey, issueCertificate, pnetCipherBackend } from '@fleetmesh/peer'
import { generateMlp } from '@fleetmesh/runtime'
import type { MeshNode, NodeRole } from '@fleetmesh/peer'
import type { Stream } from '@libp2p/interface'

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '128' },
    'model-mib': { type: 'string', default: '64' },
    runs: { type: 'string', default: '3' },
    only: { type: 'string' }
  }
})
const STREAM_BYTES = Number(values.mib) * 1024 * 1024
const RUNS = Number(values.runs)
const WRITE = 1024 * 1024
const BENCH_PROTOCOL = '/fleetmesh/bench-stream/1.0.0'
const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const want = (part: string): boolean => values.only == null || values.only === part

/** Raw TCP loopback: 1 MiB writes with 'drain' back-pressure, timed until the reader has every byte. */
async function rawTcpMBps (bytes: number | Uint8Array, runs: number): Promise<number> {
  const payload = typeof bytes === 'number' ? new Uint8Array(WRITE) : bytes
  const total = typeof bytes === 'number' ? bytes : bytes.byteLength
  const server = createServer(socket => {
    let n = 0
    socket.on('data', (d: Buffer) => { n += d.byteLength; if (n >= total) socket.end('k') })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  const once = async (): Promise<number> => new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      const t = performance.now()
      s.on('data', () => { resolve(total / 1e6 / ((performance.now() - t) / 1000)); s.destroy() })
      let at = 0
      const write = (): void => {
        while (at < total) {
          const chunk = typeof bytes === 'number' ? payload.subarray(0, Math.min(WRITE, total - at)) : payload.subarray(at, at + WRITE)
          at += chunk.byteLength
          if (!s.write(chunk)) { s.once('drain', write); return }
        }
      }
      write()
    })
    s.on('error', reject)
  })
  await once()
  const out: number[] = []
  for (let i = 0; i < runs; i++) out.push(await once())
  server.close()
  return median(out)
}

/** Writes `total` bytes to a libp2p stream in 1 MiB writes, waiting for onDrain() whenever send() returns false. */
async function writeAll (stream: Stream, total: number): Promise<void> {
  const buf = new Uint8Array(WRITE)
  for (let at = 0; at < total; at += WRITE) {
    if (!stream.send(buf.subarray(0, Math.min(WRITE, total - at)))) await stream.onDrain()
  }
}

async function meshPair (dir: string): Promise<[MeshNode, MeshNode]> {
  const authority = await createAuthority()
  const swarmKey = generateSwarmKey()
  const make = async (role: NodeRole, host: string, storeDir: string): Promise<MeshNode> => {
    const privateKey = await generateKeyPair('Ed25519')
    const certificate = await issueCertificate(authority, { peerId: peerIdFromPrivateKey(privateKey), role, region: 'u33d' })
    return createMeshNode({ role, region: 'u33d', privateKey, certificate, swarmKey, trustedAuthorities: [authority.publicKey], listen: [`/ip4/${host}/tcp/0`], modelStore: { dir: storeDir } })
  }
  const a = await make('station', '127.0.9.1', join(dir, 'a'))
  const b = await make('vehicle', '127.0.9.2', join(dir, 'b'))
  await b.connect(a.getMultiaddrs()[0] as any)
  return [a, b]
}

/** One libp2p stream b -> a: the receiver counts bytes and answers one byte once it has them all. */
async function streamMBps (a: MeshNode, b: MeshNode, total: number, runs: number): Promise<number> {
  await a.libp2p.handle(BENCH_PROTOCOL, async (stream) => {
    let n = 0
    for await (const chunk of stream) {
      n += chunk.byteLength
      if (n >= total) break
    }
    stream.send(new Uint8Array([1]))
    await stream.close()
  })
  const once = async (): Promise<number> => {
    const stream = await b.libp2p.dialProtocol(a.peerId, BENCH_PROTOCOL)
    const t = performance.now()
    const acked = (async () => { await stream[Symbol.asyncIterator]().next() })()
    await writeAll(stream, total)
    await acked
    const mbps = total / 1e6 / ((performance.now() - t) / 1000)
    await stream.close().catch(() => {})
    return mbps
  }
  await once()
  const out: number[] = []
  for (let i = 0; i < runs; i++) out.push(await once())
  await a.libp2p.unhandle(BENCH_PROTOCOL)
  return median(out)
}

/** The pnet keystream over 64 MiB in 64 KiB buffers, MB/s on one core. */
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

/** A model of about `mib` MiB: an MLP whose weights hold the bytes. */
function modelOf (mib: number): Uint8Array {
  const width = Math.round(Math.sqrt(mib * 1024 * 1024 / 4)) // one width x width float32 MatMul holds the bytes
  return generateMlp({ inputs: 16, hidden: [width, width], outputs: 4 })
}

async function modelTransfer (a: MeshNode, b: MeshNode, model: Uint8Array, runs: number): Promise<{ mbps: number, ms: number }> {
  const { cid } = await a.addModel(model)
  const out: number[] = []
  for (let i = 0; i <= runs; i++) {
    await b.modelStore?.delete(cid)
    const t = performance.now()
    await b.fetchModel(cid, { from: a.peerId })
    if (i > 0) out.push(performance.now() - t) // the first fetch warms up
  }
  const ms = median(out)
  return { mbps: model.byteLength / 1e6 / (ms / 1000), ms }
}

const loadBefore = loadavg()[0] as number
const figures: Record<string, number> = {}
const detail: Record<string, unknown> = { pnetCipherBackend: pnetCipherBackend() }

if (want('cipher')) {
  figures.pnetCipherMBps = round(cipherMBps('native'), 1)
  figures.pnetCipherJsMBps = round(cipherMBps('js'), 1)
}

if (want('stream') || want('model')) {
  const dir = await mkdtemp(join(tmpdir(), 'fleetmesh-bench-transport-'))
  const [a, b] = await meshPair(dir)
  try {
    if (want('stream')) {
      const p2p = await streamMBps(a, b, STREAM_BYTES, RUNS)
      const tcp = await rawTcpMBps(STREAM_BYTES, RUNS)
      figures.streamOverRawTcp = round(p2p / tcp)
      detail.stream = { bytes: STREAM_BYTES, writeBytes: WRITE, libp2pMBps: round(p2p, 1), rawTcpMBps: round(tcp, 1) }
    }
    if (want('model')) {
      const model = modelOf(Number(values['model-mib']))
      const fetch = await modelTransfer(a, b, model, RUNS)
      const tcp = await rawTcpMBps(model, RUNS)
      figures.modelTransferOverRawTcp = round(fetch.mbps / tcp)
      detail.modelTransfer = { modelBytes: model.byteLength, fetchMs: round(fetch.ms, 1), libp2pMBps: round(fetch.mbps, 1), rawTcpMBps: round(tcp, 1) }
    }
  } finally {
    await Promise.allSettled([a.stop(), b.stop()])
    await rm(dir, { recursive: true, force: true })
  }
}

console.log(JSON.stringify({ figures, ...detail, runs: RUNS, loadAverage1m: { before: round(loadBefore, 2), after: round(loadavg()[0] as number, 2) }, cores: navigator.hardwareConcurrency }, null, 2))
