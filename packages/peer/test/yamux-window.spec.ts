import assert from 'node:assert/strict'
import { connect, createServer } from 'node:net'
import { createTestMesh, waitUntil } from '@fleetmesh/test-utils'
import { YAMUX_INITIAL_STREAM_WINDOW_BYTES } from '../src/index.js'
import type { MeshNode } from '../src/index.js'
import type { TestMesh } from '@fleetmesh/test-utils'
import type { Connection } from '@libp2p/interface'
import type { Socket } from 'node:net'

/** A protocol whose handler reads its stream to the end and counts the bytes. */
const SINK_PROTOCOL = '/fleetmesh-test/sink/1.0.0'

/** A TCP proxy in front of `host`:`port` that counts the bytes going back to the dialler (the target's writes). */
async function countingProxy ({ host, port }: { host: string, port: number }): Promise<{ port: number, back: () => number, close: () => Promise<void> }> {
  let back = 0
  const sockets: Socket[] = []
  const server = createServer((client) => {
    const up = connect(port, host)
    sockets.push(client, up)
    up.on('data', (d: Buffer) => { back += d.byteLength })
    client.pipe(up)
    up.pipe(client)
    const end = (): void => { client.destroy(); up.destroy() }
    client.on('error', end).on('close', end)
    up.on('error', end).on('close', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  assert.ok(address != null && typeof address === 'object')
  return {
    port: address.port,
    back: () => back,
    close: async () => { for (const s of sockets) s.destroy(); await new Promise<void>((resolve) => server.close(() => { resolve() })) }
  }
}

/** The loopback TCP address `node` listens on. */
function tcpAddress (node: MeshNode): { host: string, port: number } {
  const addr = node.getMultiaddrs().map(String).find(a => a.startsWith('/ip4/127.'))
  assert.ok(addr != null, 'the target listens on loopback')
  const parts = addr.split('/')
  return { host: parts[2] ?? '', port: Number(parts[4]) }
}

describe('yamux window updates at half a window', function () {
  this.timeout(60_000)
  let fleet: TestMesh
  let proxy: Awaited<ReturnType<typeof countingProxy>> | undefined
  beforeEach(async () => { fleet = await createTestMesh() })
  afterEach(async () => { await fleet.stop(); await proxy?.close(); proxy = undefined })

  /** A target that sinks SINK_PROTOCOL streams, a sender's connection to it through the counting proxy, and the stream's read total. */
  async function pair (): Promise<{ connection: Connection, read: () => number, done: () => Promise<void> }> {
    const target = await fleet.add('station', 'u33d')
    let read = 0
    let ended: () => void = () => {}
    const finished = new Promise<void>((resolve) => { ended = resolve })
    await target.libp2p.handle(SINK_PROTOCOL, async (stream) => {
      for await (const chunk of stream) read += chunk.byteLength
      ended()
      await stream.close().catch(() => {})
    })
    proxy = await countingProxy(tcpAddress(target))
    const sender = await fleet.add('station', 'u33d', { bootstrap: [`/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${target.peerId.toString()}`] })
    await waitUntil(() => target.isAdmitted(sender.peerId) && sender.isAdmitted(target.peerId), { timeoutMs: 15_000, message: 'both admitted' })
    const connection = sender.libp2p.getConnections(target.peerId).find(c => c.remoteAddr.toString().includes(`/tcp/${proxy?.port ?? 0}`))
    assert.ok(connection != null, 'the sender reached the target through the proxy')
    return { connection, read: () => read, done: async () => { await finished } }
  }

  it('a receiver reading 400 small frames sends no window update for them (it sent one per frame: ~30 bytes each, encrypted)', async () => {
    const { connection, read, done } = await pair()
    const stream = await connection.newStream(SINK_PROTOCOL)
    // settle: the stream's open and its protocol echo are behind us
    stream.send(new Uint8Array(8))
    await waitUntil(() => read() === 8, { timeoutMs: 5000, message: 'the first bytes read' })
    const before = proxy?.back() ?? 0
    const frames = 400
    for (let i = 0; i < frames; i++) {
      stream.send(new Uint8Array(64).fill(i & 0xff))
      // one frame each: the receiver reads it before the next is sent
      await waitUntil(() => read() === 8 + (i + 1) * 64, { timeoutMs: 5000, intervalMs: 1, message: `frame ${i} read` })
    }
    const back = (proxy?.back() ?? 0) - before
    await stream.close()
    await done()
    assert.equal(read(), 8 + frames * 64)
    // a window update is 12 bytes of yamux header in a noise frame (2 + 12 + 16): 400 of them are 12,000 bytes
    assert.ok(back < 1500, `the receiver wrote ${back} bytes back while reading ${frames} frames (one window update per frame would be ${frames * 30})`)
  })

  it('a transfer of four initial windows arrives whole: the sender is released by updates at half a window', async () => {
    const { connection, read, done } = await pair()
    const stream = await connection.newStream(SINK_PROTOCOL)
    const total = 4 * YAMUX_INITIAL_STREAM_WINDOW_BYTES
    const chunk = new Uint8Array(64 * 1024).fill(7)
    for (let sent = 0; sent < total; sent += chunk.byteLength) {
      if (!stream.send(chunk)) await new Promise<void>((resolve) => { stream.addEventListener('drain', () => { resolve() }, { once: true }) })
    }
    await stream.close()
    await done()
    assert.equal(read(), total)
  })
})
