import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { xsalsa20 } from '@noble/ciphers/salsa.js'
import { createLibp2p } from 'libp2p'
import { Uint8ArrayList } from 'uint8arraylist'
import { swarmKeyProtector } from '../src/pnet.js'
import { createPnetKeystream, PNET_FALLBACK_WARNING_CODE, pnetCipherBackend, selectPnetCipher } from '../src/pnet-cipher.js'
import { generateSwarmKey, YAMUX_INITIAL_STREAM_WINDOW_BYTES, YAMUX_MAX_STREAM_WINDOW_BYTES } from '../src/index.js'
import { nextLoopbackHost } from '@fleetmesh/test-utils'
import type { Libp2p, Stream } from '@libp2p/interface'

/** Deterministic split sizes: 1 byte up to ~70 kB, crossing 64-byte block boundaries everywhere. */
function * splits (total: number, seed: number): Generator<number> {
  let x = seed
  let at = 0
  while (at < total) {
    x = (x * 1103515245 + 12345) & 0x7fffffff
    const n = Math.min(total - at, [1, 7, 63, 64, 65, 1000, 4096, 65_535, 70_001][x % 9] as number)
    at += n
    yield n
  }
}

describe('pnet keystream (XSalsa20, native and pure-JS backends)', () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => i * 7)
  const nonce = Uint8Array.from({ length: 24 }, (_, i) => 255 - i)
  const data = randomBytes(300_000)
  const reference = xsalsa20(key, nonce, data)

  it('sodium-native loads here and is the process backend', () => {
    assert.equal(pnetCipherBackend(), 'sodium-native')
  })

  for (const backend of ['sodium-native', '@noble/ciphers'] as const) {
    it(`${backend}: one keystream over buffers split anywhere equals XSalsa20 over the whole, inputs untouched`, () => {
      const ks = createPnetKeystream(key, nonce, backend)
      assert.equal(ks.backend, backend)
      const copy = Uint8Array.from(data)
      const out: Uint8Array[] = []
      let at = 0
      let i = 0
      for (const n of splits(data.byteLength, 3)) {
        const piece = data.subarray(at, at + n)
        // every other piece arrives as a list of two buffers (noise hands lists to the protector)
        if (i++ % 2 === 0 || n < 2) out.push(ks.xor(piece))
        else out.push(ks.xor(new Uint8ArrayList(piece.subarray(0, n >> 1), piece.subarray(n >> 1))))
        at += n
      }
      assert.ok(Buffer.concat(out).equals(Buffer.from(reference)), `${backend} output equals the single-call keystream`)
      assert.ok(Buffer.from(data).equals(copy), 'the input buffers are not modified')
    })
  }

  it('rejects a key or nonce of the wrong length', () => {
    assert.throws(() => createPnetKeystream(new Uint8Array(31), nonce), RangeError)
    assert.throws(() => createPnetKeystream(key, new Uint8Array(8)), RangeError)
  })

  it('falls back to @noble/ciphers with a process warning when the addon cannot load, never throwing', async () => {
    const warned = new Promise<Error & { code?: string }>(resolve => { process.once('warning', resolve) })
    let reason: Error | undefined
    const chosen = selectPnetCipher(() => { throw new Error('no prebuild for this platform') }, (err) => { reason = err })
    assert.equal(chosen, undefined, 'no native backend')
    assert.match(reason?.message ?? '', /no prebuild/)
    const warning = await warned
    assert.equal(warning.code, PNET_FALLBACK_WARNING_CODE)
    assert.match(warning.message, /pure-JS XSalsa20/)
  })
})

describe('pnet interop with stock @libp2p/pnet', function () {
  this.timeout(60_000)
  const PROTOCOL = '/fleetmesh/test-pnet-echo/1.0.0'
  const BYTES = 6 * 1024 * 1024
  let nodes: Libp2p[] = []

  // yamux windows are a fleet-wide setting: both ends use the fleet's
  const muxer = (): any => yamux({ streamOptions: { initialStreamWindowSize: YAMUX_INITIAL_STREAM_WINDOW_BYTES, maxStreamWindowSize: YAMUX_MAX_STREAM_WINDOW_BYTES } })
  const start = async (protector: any): Promise<Libp2p> => {
    const node = await createLibp2p({
      addresses: { listen: [`/ip4/${nextLoopbackHost()}/tcp/0`] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [muxer()],
      connectionProtector: protector,
      connectionManager: { dialTimeout: 5000 }
    })
    nodes.push(node)
    // the handler answers with the sha2-256 of every byte it read, then closes
    await node.handle(PROTOCOL, async (stream) => {
      const hash = createHash('sha256')
      for await (const chunk of stream) {
        for (const buf of chunk instanceof Uint8Array ? [chunk] : chunk) hash.update(buf)
      }
      stream.send(hash.digest())
      await stream.close()
    })
    return node
  }

  /** Sends BYTES in split writes (waiting on onDrain when send() says so) and returns the digest the remote computed. */
  const sendSplit = async (stream: Stream, payload: Uint8Array, seed: number): Promise<Buffer> => {
    const answer = (async () => {
      const got = new Uint8ArrayList()
      for await (const chunk of stream) got.append(chunk)
      return Buffer.from(got.subarray())
    })()
    let at = 0
    for (const n of splits(payload.byteLength, seed)) {
      if (!stream.send(payload.subarray(at, at + n))) await stream.onDrain()
      at += n
    }
    await stream.close()
    return answer
  }

  afterEach(async () => {
    await Promise.allSettled(nodes.map(async n => n.stop()))
    nodes = []
  })

  for (const dialer of ['stock', 'fleetmesh'] as const) {
    it(`${dialer} node dials: streams both ways carry ${BYTES >> 20} MiB of split writes intact`, async () => {
      const swarmKey = generateSwarmKey()
      const stock = await start(preSharedKey({ psk: swarmKey }))
      const fleet = await start(swarmKeyProtector(swarmKey))
      const [from, to] = dialer === 'stock' ? [stock, fleet] : [fleet, stock]
      await from.dial(to.getMultiaddrs()[0] as any, { signal: AbortSignal.timeout(10_000) })
      const payloads = [randomBytes(BYTES), randomBytes(BYTES)]
      const [forward, back] = await Promise.all([
        sendSplit(await from.dialProtocol(to.peerId, PROTOCOL), payloads[0] as Uint8Array, 1),
        sendSplit(await to.dialProtocol(from.peerId, PROTOCOL), payloads[1] as Uint8Array, 2)
      ])
      assert.ok(forward.equals(createHash('sha256').update(payloads[0] as Uint8Array).digest()), `${dialer} -> other: the remote read every byte as sent`)
      assert.ok(back.equals(createHash('sha256').update(payloads[1] as Uint8Array).digest()), `other -> ${dialer}: the remote read every byte as sent`)
    })
  }

  it('a node with another swarm key never gets a stream through', async () => {
    const stock = await start(preSharedKey({ psk: generateSwarmKey() }))
    const fleet = await start(swarmKeyProtector(generateSwarmKey()))
    await assert.rejects(fleet.dialProtocol(stock.getMultiaddrs()[0] as any, PROTOCOL, { signal: AbortSignal.timeout(3000) }))
    assert.equal(fleet.getConnections().length, 0)
  })
})
