import { ADMISSION_PROTOCOL } from '@fleetmesh/protocol'
import { delay } from './wait.js'
import type { MeshNode } from '@fleetmesh/peer'
import type { Connection } from '@libp2p/interface'

/** How long a delayed admission stream may then take to open, ms (libp2p's own timeout for it starts after the delay). */
const DELAYED_OPEN_TIMEOUT_MS = 10_000

/**
 * Holds back the certificate `node` sends on every connection `from` dials
 * to it from now on, by `ms` milliseconds: a peer that answers the dialler
 * late (a busy node, a slow link). Only the opening of `node`'s admission
 * stream on those connections is delayed; `node` admits `from` as usual,
 * and `from` admits `node` only once the delayed certificate arrives.
 *
 * @returns a function that stops delaying connections opened later
 */
export function delayCertificate (node: MeshNode, from: MeshNode, ms: number): () => void {
  const onOpen = (evt: CustomEvent<Connection>): void => {
    const connection = evt.detail
    if (!connection.remotePeer.equals(from.peerId) || connection.direction !== 'inbound') return
    const newStream = connection.newStream.bind(connection)
    connection.newStream = async (protocols, options) => {
      const list = Array.isArray(protocols) ? protocols : [protocols]
      if (!list.includes(ADMISSION_PROTOCOL)) return newStream(protocols, options)
      await delay(ms)
      return newStream(protocols, { ...options, signal: AbortSignal.timeout(DELAYED_OPEN_TIMEOUT_MS) })
    }
  }
  node.libp2p.addEventListener('connection:open', onOpen)
  return () => { node.libp2p.removeEventListener('connection:open', onOpen) }
}
