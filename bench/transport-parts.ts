/**
 * Parts of bench/transport shared by the bench and its peer process: the
 * receiving/serving side of each measurement (a stream sink, raw TCP sink
 * and source servers, the model) and the timed sending/fetching side.
 */
import { createServer, connect } from 'node:net'
import { generateMlp } from '@fleetmesh/runtime'
import type { MeshNode } from '@fleetmesh/peer'
import type { PeerId, Stream } from '@libp2p/interface'

/** Bytes per write on every sender: 1 MiB, as an activation or model piece would be. */
export const WRITE_BYTES = 1024 * 1024
export const BENCH_PROTOCOL = '/fleetmesh/bench-stream/1.0.0'

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

/** A model of about `mib` MiB, the same bytes in every process: an MLP whose one width x width float32 MatMul holds them. */
export function modelOf (mib: number): Uint8Array {
  const width = Math.round(Math.sqrt(mib * 1024 * 1024 / 4))
  return generateMlp({ inputs: 16, hidden: [width, width], outputs: 4, seed: 7 })
}

/** Registers a stream sink: it reads `total` bytes, answers one byte, closes. */
export async function handleSink (node: MeshNode, total: number): Promise<void> {
  await node.libp2p.handle(BENCH_PROTOCOL, async (stream) => {
    let n = 0
    for await (const chunk of stream) {
      n += chunk.byteLength
      if (n >= total) break
    }
    stream.send(new Uint8Array([1]))
    await stream.close()
  })
}

/** A raw TCP server that reads `total` bytes per connection and answers one byte; resolves to its port. */
export async function rawSinkServer (host: string, total: number): Promise<{ port: number, close: () => void }> {
  const server = createServer(socket => {
    let n = 0
    socket.on('data', (d: Buffer) => { n += d.byteLength; if (n >= total) socket.end('k') })
    socket.on('error', () => {})
  })
  await new Promise<void>(resolve => server.listen(0, host, resolve))
  return { port: (server.address() as { port: number }).port, close: () => { server.close() } }
}

/** A raw TCP server that writes `bytes` to each connection in 1 MiB writes (honouring 'drain') and ends it. */
export async function rawSourceServer (host: string, bytes: Uint8Array): Promise<{ port: number, close: () => void }> {
  const server = createServer(socket => {
    socket.on('error', () => {})
    let at = 0
    const write = (): void => {
      while (at < bytes.byteLength) {
        const piece = bytes.subarray(at, at + WRITE_BYTES)
        at += piece.byteLength
        if (!socket.write(piece)) { socket.once('drain', write); return }
      }
      socket.end()
    }
    write()
  })
  await new Promise<void>(resolve => server.listen(0, host, resolve))
  return { port: (server.address() as { port: number }).port, close: () => { server.close() } }
}

/** Writes `total` bytes to a libp2p stream in 1 MiB writes, waiting for onDrain() whenever send() returns false. */
async function writeAll (stream: Stream, total: number): Promise<void> {
  const buf = new Uint8Array(WRITE_BYTES)
  for (let at = 0; at < total; at += WRITE_BYTES) {
    if (!stream.send(buf.subarray(0, Math.min(WRITE_BYTES, total - at)))) await stream.onDrain()
  }
}

/** MB/s of one libp2p stream to `to`'s sink, until its one-byte answer. */
export async function timeStream (node: MeshNode, to: PeerId, total: number): Promise<number> {
  const stream = await node.libp2p.dialProtocol(to, BENCH_PROTOCOL)
  const t = performance.now()
  const acked = stream[Symbol.asyncIterator]().next()
  await writeAll(stream, total)
  await acked
  const mbps = total / 1e6 / ((performance.now() - t) / 1000)
  await stream.close().catch(() => {})
  return mbps
}

/** MB/s of raw TCP to a sink server, 1 MiB writes honouring 'drain', until its one-byte answer. */
export async function timeRawSink (host: string, port: number, total: number): Promise<number> {
  const buf = new Uint8Array(WRITE_BYTES)
  return new Promise((resolve, reject) => {
    const s = connect(port, host, () => {
      const t = performance.now()
      s.on('data', () => { resolve(total / 1e6 / ((performance.now() - t) / 1000)); s.destroy() })
      let at = 0
      const write = (): void => {
        while (at < total) {
          const piece = buf.subarray(0, Math.min(WRITE_BYTES, total - at))
          at += piece.byteLength
          if (!s.write(piece)) { s.once('drain', write); return }
        }
      }
      write()
    })
    s.on('error', reject)
  })
}

/** MB/s of raw TCP from a source server, until it ends the connection. */
export async function timeRawSource (host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now()
    let n = 0
    const s = connect(port, host)
    s.on('data', (d: Buffer) => { n += d.byteLength })
    s.on('end', () => { resolve(n / 1e6 / ((performance.now() - t) / 1000)) })
    s.on('error', reject)
  })
}

/** Milliseconds of one model fetch (request to verified, stored entry), deleting any stored copy first. */
export async function timeFetch (node: MeshNode, cid: string, from: PeerId): Promise<number> {
  await node.modelStore?.delete(cid)
  const t = performance.now()
  await node.fetchModel(cid, { from })
  return performance.now() - t
}

/**
 * Runs `a` and `b` once each to warm up, then alternately `runs` times each
 * (a load that changes during the run hits both alike); their medians.
 */
export async function interleavedMedians (runs: number, a: () => Promise<number>, b: () => Promise<number>): Promise<[number, number]> {
  await a()
  await b()
  const as: number[] = []
  const bs: number[] = []
  for (let i = 0; i < runs; i++) {
    as.push(await a())
    bs.push(await b())
  }
  return [median(as), median(bs)]
}
