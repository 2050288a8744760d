import { readFile } from 'node:fs/promises'
import { createMeshNode } from '@fleetmesh/peer'
import { exitWithParent, sendToParent } from './fork.js'
import { deserializeIdentity } from './identity.js'
import { loopbackGossip } from './loopback.js'
import type { SerializedIdentity } from './identity.js'
import type { MeshNode, MeshNodeInit } from '@fleetmesh/peer'

/** The config file of a forked station (argv[2] of the fixture): a serialized identity plus where it listens and stores models. */
export interface ForkedStationConfig extends SerializedIdentity {
  /** multiaddrs of the nodes to bootstrap to */
  bootstrap: string[]
  /** the multiaddr to listen on (a 127.x.y.z address) */
  listen: string
  /** model store directory */
  storeDir: string
}

/** A forked station that started. */
export interface ForkedStation<Config extends ForkedStationConfig> {
  node: MeshNode
  /** its config file, parsed */
  config: Config
}

/**
 * In a fixture script forked by {@link forkNode} with a config file in
 * argv[2]: reads the config, starts a station of region u33d with the
 * config's identity, addresses and model store (loopback gossip
 * settings), waits until it has announced itself, sends the parent
 * `{ type: 'ready', peerId, ...ready(node) }` and stops the node when the
 * parent goes away. Message handlers the fixture adds once this resolves
 * see every message the parent sends after `ready`.
 *
 * @param init - the node's other settings, from the config (worker, inference, pricing…)
 * @param ready - extra fields of the ready message
 * @throws what createMeshNode throws (the fixture exits and the parent sees it)
 */
export async function startForkedStation<Config extends ForkedStationConfig> (init: (config: Config) => Partial<MeshNodeInit>, ready?: (node: MeshNode) => Record<string, unknown>): Promise<ForkedStation<Config>> {
  const config: Config = JSON.parse(await readFile(process.argv[2] as string, 'utf8'))
  const node = await createMeshNode({
    role: 'station',
    region: 'u33d',
    ...deserializeIdentity(config),
    listen: [config.listen],
    bootstrap: config.bootstrap,
    modelStore: { dir: config.storeDir },
    ...init(config),
    gossip: loopbackGossip()
  })
  await node.announced()
  sendToParent({ type: 'ready', peerId: node.peerId.toString(), ...ready?.(node) })
  exitWithParent(async () => { await node.stop() })
  return { node, config }
}
