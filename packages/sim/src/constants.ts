/**
 * Defaults of the simulator. The gossip and DHT figures are the libraries'
 * own defaults, read from their sources (@libp2p/gossipsub 17
 * `dist/src/constants.js` and `gossipsub.js`, @libp2p/kad-dht
 * `dist/src/constants.js`, `routing-table/index.js`, `query/manager.js`);
 * fleetmesh's node configuration (packages/peer `mesh-node.ts`) keeps them.
 * The network figures are assumptions of the scenario, documented where
 * they are used and overridden by a scenario file.
 */

/** gossipsub `GossipsubD`: target mesh degree of a topic. */
export const GOSSIP_D = 6

/** gossipsub `GossipsubDlo`: below this many mesh peers a heartbeat grafts more. */
export const GOSSIP_DLO = 4

/** gossipsub `GossipsubDhi`: above this many mesh peers a heartbeat prunes down to D. */
export const GOSSIP_DHI = 12

/** gossipsub `GossipsubDlazy`: peers outside the mesh that get IHAVE gossip at each heartbeat (at least). */
export const GOSSIP_DLAZY = 6

/** gossipsub `GossipsubGossipFactor`: IHAVE goes to max(Dlazy, factor × non-mesh topic peers). */
export const GOSSIP_FACTOR = 0.25

/** gossipsub `GossipsubHeartbeatInterval`, ms. */
export const GOSSIP_HEARTBEAT_MS = 1000

/** gossipsub `GossipsubHistoryGossip`: heartbeats a message id stays in IHAVE gossip. */
export const GOSSIP_HISTORY_GOSSIP = 3

/** Bytes of one message id in IHAVE / IWANT (fleetmesh's `fastMsgIdFn`: base64 of a sha2-256, 44 characters). */
export const GOSSIP_MSG_ID_BYTES = 44

/** Bytes of gossipsub's RPC framing and signature around a published message (from, seqno, 64-byte signature, 32-byte key, topic). */
export const GOSSIP_MESSAGE_OVERHEAD_BYTES = 200

/**
 * Peers a node is connected to (and so, with gossipsub's default
 * `floodPublish: true`, publishes its own messages to, when they are topic
 * peers): DESIGN.md measured ~40, from the DHT's background lookups.
 */
export const CONNECTED_PEERS = 40

/** kad-dht `K` / `KBUCKET_SIZE`: peers per bucket, closest peers a lookup converges on, replicas of a provider record. */
export const KAD_K = 20

/** kad-dht `ALPHA`: concurrent RPCs per query path (js-libp2p's default is 10, not the paper's 3). */
export const KAD_ALPHA = 10

/** kad-dht `disjointPaths` default (`K`): a query splits its start peers over this many paths. */
export const KAD_DISJOINT_PATHS = 20

/** kad-dht `PREFIX_LENGTH`: the bucket trie splits a full bucket only down to this depth (at most 2^6 buckets). */
export const KAD_PREFIX_LENGTH = 6

/** Bits of the simulator's kad ids: the first 32 bits of the sha2-256 kad-dht uses (collisions are negligible below a million nodes). */
export const KAD_ID_BITS = 32

/** Time an RPC to a peer that has gone takes to fail, ms (fleetmesh's dial timeout). */
export const DHT_RPC_TIMEOUT_MS = 5000

/** Time a lookup may take before it counts as failed, ms. */
export const DHT_QUERY_TIMEOUT_MS = 30_000

/** Bytes of one peer entry in a DHT answer (id, two multiaddrs). */
export const DHT_PEER_BYTES = 80

/** Bytes of a DHT request or the fixed part of an answer. */
export const DHT_MESSAGE_BYTES = 60

/** Round trips of a new connection before the first stream (TCP, then noise XX's 1.5 round trips, then yamux and multistream). */
export const DIAL_ROUND_TRIPS = 3

/** CPU time a node spends on one message it forwards or answers, ms (validation, signature check, framing) on an idle core. */
export const PROCESSING_MS = 0.5

/**
 * CPU of the messages that do more than a plain gossip forward, in units
 * of `processingMs` (one unit: a forward, which checks one gossipsub
 * signature). A market message is a signed envelope with a device
 * certificate: every hop's topic validator checks the envelope signature
 * and the certificate's, and its author signs it (3 units, assumed).
 * bench/sim-cost.ts measures the envelope's check at 0.4 plain messages
 * (the certificate's comes from the validator's cache): 1.4 units, which
 * the calibration uses.
 */
export const MARKET_MESSAGE_UNITS = 3

/**
 * A receipt entry's CPU at each ledger it reaches, in units of
 * `processingMs`: gossipsub's own check, and the ledger's check of the
 * worker's signature and the requester's countersignature (the
 * certificates come from its verification cache) — about as much again
 * (2 units). bench/sim-cost.ts measures a ledger entry (a credit grant,
 * one signature) at 2.4 plain messages per copy on this machine; the
 * calibration uses the measured figure. The ledger's signature checks run
 * in libuv's thread pool: one unit holds the node's thread, the rest only
 * delays the entry's delivery and forward.
 */
export const RECEIPT_UNITS = 2

/**
 * Jobs a ledger entry's check sends to libuv's thread pool, one after the
 * other, at each node it reaches: the worker's signature, then the
 * requester's countersignature (packages/ledger `verifyReceipt` awaits
 * each; `verifyEd25519` runs node's crypto in its callback form, in the
 * pool). The validation leaves the node's thread for each and resumes
 * when it is done: like any input, each resume waits for the process to
 * be scheduled (`wakeMs`).
 */
export const RECEIPT_POOL_JOBS = 2

/** Round trips of opening a protocol stream on a connection (multistream-select proposes and confirms the protocol). */
export const STREAM_ROUND_TRIPS = 1

/** Leaves per node per hour of a large-scale scenario: 5 %. */
export const CHURN_PER_HOUR = 0.05

/** Mean time a node that left stays away, ms (then it rejoins). */
export const OFFLINE_MEAN_MS = 60 * 60 * 1000

/** Seed of the simulator's random numbers when a scenario names none. */
export const DEFAULT_SEED = 1

/** Receipts whose fleet-wide dissemination a sampled run simulates in full. */
export const RECEIPT_SAMPLE = 20

/** Ms in an hour. */
export const HOUR_MS = 60 * 60 * 1000

/** Worker processes bench/scale spreads its vehicles over (its `--processes` default); the stations run in the bench process. */
export const SCALE_VEHICLE_HOSTS = 4

/** bench/scale's bid window (its `--bid-window` default), ms. */
export const SCALE_BID_WINDOW_MS = 300

/** bench/scale's job rounds (its `--jobs` default): each region's first station submits once per round. */
export const SCALE_JOB_ROUNDS = 3

/** Virtual ms between the simulated rounds of bench/scale's jobs (a real round lasts until its jobs settled: 10–30 s on the shared machine). */
export const SCALE_ROUND_MS = 20_000

/**
 * fleetmesh's gossipsub mesh degree by role (packages/peer
 * `STATION_GOSSIP_DEGREE`, `VEHICLE_GOSSIP_DEGREE`; the simulator's test
 * checks they agree): a station grafts 8 peers and accepts up to 64, a
 * vehicle grafts its 2–3 stations.
 */
export const SCALE_GOSSIP_DEGREE = Object.freeze({
  station: Object.freeze({ D: 8, Dlo: 6, Dhi: 64 }),
  vehicle: Object.freeze({ D: 3, Dlo: 2, Dhi: 6 })
})

/** Virtual ms between the simulator's fleet-wide gossip probes (bench/scale publishes one, waits for it to reach every node, polling every 250 ms, then the next). */
export const GOSSIP_PROBE_SPACING_MS = 1000
