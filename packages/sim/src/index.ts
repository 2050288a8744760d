/**
 * @packageDocumentation
 *
 * A discrete-event simulator of fleetmesh's protocol core. The market
 * (`decideBid`, `shouldAwardEarly`, `planAwards`, `checkOfferFields`,
 * `checkBidFields`), the ledger's reconciliation sessions
 * (`initiateSession` / `respondSession` over `IdSet`s) and balances
 * (`computeBalances`) run as the very functions the nodes run; gossipsub
 * dissemination and Kad-DHT lookups are modelled from the libraries'
 * parameters (D 6, Dlo 4, Dhi 12, Dlazy 6, 1 s heartbeat, IHAVE/IWANT,
 * floodPublish; K 20, ALPHA 10, 20 disjoint paths, 6-bit bucket trie, XOR
 * distance); a virtual clock drives them over a latency, loss and churn
 * model (station backbones, inter-region links, cellular vehicles).
 *
 * @example
 *
 * ```TypeScript
 * import { simulate, fleetScenario } from '@fleetmesh/sim'
 *
 * const { figures } = await simulate(fleetScenario(10_000))
 * console.log(figures.offerReach, figures.offerToAwardsP50Ms, figures.bytesPerNodePerHour)
 * ```
 */

export * from './constants.js'
export * from './errors.js'
export { Rng } from './rng.js'
export { EventQueue } from './queue.js'
export type { EventHandler } from './queue.js'
export * from './scenario.js'
export { NodeTable, STATION, VEHICLE } from './nodes.js'
export type { FleetNode } from './nodes.js'
export { LinkModel } from './network.js'
export { HostCpu } from './cpu.js'
export { Connections, buildTopology } from './topology.js'
export { TopicMesh, Spread, disseminate, reachOf } from './gossip.js'
export { Tasks } from './tasks.js'
export type { Dissemination, DisseminateOptions } from './gossip.js'
export { Dht, keyId, distance } from './dht.js'
export type { LookupResult } from './dht.js'
export { runOffer, runOffers, exchange, exchangeTask, termsOf, situationOf, EPOCH_MS } from './market.js'
export type { MarketWorld, OfferOutcome, SimAward } from './market.js'
export { makeReceipt, memoryPair, reconcilePair, sessionCost, ReceiptSets, RECEIPT_ENTRY_BYTES } from './receipts.js'
export type { ReceiptInit, SimReceipt, PairResult, MemoryIo } from './receipts.js'
export { simulate } from './simulator.js'
export type { SimFigures, SimResult, SimulateOptions } from './simulator.js'
export { percentile } from './stats.js'
