/**
 * Defaults of @fleetmesh/peer. Each is the `@default` of an init field.
 */

/**
 * How long a new connection may stay open without a verified certificate
 * from the remote peer, ms. The handshake is one stream round trip right
 * after the connection opens (~5 ms on loopback, a few ms on a LAN, 2–3
 * RTT over cellular), and a silent peer must be cut within 1 s: 600 ms
 * leaves ~400 ms for the dial, a timer firing late on a loaded node
 * (measured up to +450 ms on two busy cores) and the close. A fleet whose vehicles sit behind slow cellular links raises it
 * (`admissionTimeoutMs`); silence costs a member only the short
 * TIMEOUT_REFUSAL_BACKOFF_MS. A peer that speaks no admission protocol, or
 * sends a bad certificate, is refused at once, without waiting for this.
 */
export const ADMISSION_TIMEOUT_MS = 600

/**
 * How long a node waits for the certificate of a peer it dialled itself,
 * ms. The accepting side sends its certificate only once it verified the
 * dialler's (a peer that dials in learns nothing before that), so a busy
 * station answers its dialler late: bench/scale at 50 nodes (load 9–12, 5
 * stations in one process taking 45 vehicles at once) saw vehicles refuse
 * their stations after ADMISSION_TIMEOUT_MS and rejoin only through the
 * bootstrap back-off, 40–70 s after start. A dialled peer cannot hold this
 * node's inbound room (MAX_UNADMITTED_CONNECTIONS), so waiting longer costs
 * nothing; the 1 s cut of a silent peer that dials in is unchanged.
 */
export const OUTBOUND_ADMISSION_TIMEOUT_MS = 3000

/**
 * Times a peer's admission timeout (and a timed-out certificate send) is
 * started again because this node's own event loop stalled: a timer that
 * fires more than half a timeout late was held up by this node (node
 * start-up, a burst of work), and timers run before pending socket reads,
 * so the peer's certificate may already be waiting unread. bench/scale at
 * 50 nodes (23 vehicles starting in one process, load 10) saw vehicles
 * refuse both their stations with ERR_ADMISSION_TIMEOUT and sit out the
 * bootstrap back-off for up to 2 min; a silent peer is still cut on time
 * by a node that is not stalled.
 */
export const ADMISSION_STALL_REARMS = 2

/**
 * How long `Admission.waitFor` waits for a peer's admission, ms, when the
 * caller's signal does not end it first; it includes the dial that is
 * usually under way (DIAL_TIMEOUT_MS) and the handshake. A refusal ends
 * the wait at once.
 */
export const ADMISSION_WAIT_MS = 6000

/** Retries of a certificate send refused as an unsupported protocol before the peer is refused. */
export const NO_PROTOCOL_RETRIES = 2

/** Delay between those retries, ms: a starting node registers its protocols within a few hundred ms (measured in the local testnet). */
export const NO_PROTOCOL_RETRY_MS = 150

/** Further runs of an admitted peer's identify after one failed (without identify no topology learns of the peer). */
export const IDENTIFY_RETRIES = 3

/** Delay before running a failed identify again, ms (a stream lost under load; each run is bounded by ADMISSION_WAIT_MS). */
export const IDENTIFY_RETRY_MS = 1000

/**
 * Most connections of peers not (yet) admitted a node keeps open at once.
 * Beyond it the oldest such connection whose peer has not even sent a
 * certificate is closed, so an outsider flood never fills the connection
 * table (MAX_CONNECTIONS): the rest stays reserved for members, and a
 * member's fresh connection survives as its certificate arrives within one
 * round trip.
 */
export const MAX_UNADMITTED_CONNECTIONS = 32

/** Most refused peers remembered at once (the connection gater keeps them out); the oldest are forgotten first. */
export const MAX_REFUSED_PEERS = 1024

/** Interval at which refusals past their back-off are forgotten (with the peer store entry of a disconnected refused peer), ms. */
export const REFUSAL_SWEEP_INTERVAL_MS = 5000

/** Peer store tag given to admitted peers, so the connection pruner closes connections of peers that are not admitted first. */
export const ADMITTED_TAG = 'fleetmesh-admitted'

/** Value of ADMITTED_TAG (libp2p's pruner closes the lowest total tag value first; KEEP_ALIVE tags are 50). */
export const ADMITTED_TAG_VALUE = 100

/** How long a refused peer is kept out by the connection gater, ms. */
export const REFUSAL_BACKOFF_MS = 60_000

/**
 * How long a peer that merely stayed silent past the admission timeout is
 * denied, ms. Silence is usually load (measured: nine daemons starting at
 * once on two cores miss the 3 s timeout now and then), not a bad
 * certificate, so its back-off is short enough for the peer's next
 * bootstrap re-dial to get in.
 */
export const TIMEOUT_REFUSAL_BACKOFF_MS = 5000

/**
 * Dial timeout, ms. pnet with a wrong key makes a dial hang until this
 * timeout (DESIGN.md "Platform facts"), so it is always set.
 */
export const DIAL_TIMEOUT_MS = 5000

/** Time a `findPeers` call may take by default, ms. */
export const FIND_PEERS_TIMEOUT_MS = 10_000

/** Number of peers `findPeers` returns by default. */
export const FIND_PEERS_LIMIT = 20

/** Number of peers pinged at once while ranking `findPeers` results. */
export const FIND_PEERS_CONCURRENCY = 8

/** First delay before re-trying to announce capabilities when the DHT has no server yet, ms (doubles up to MAX_ANNOUNCE_RETRY_MS). */
export const ANNOUNCE_RETRY_MS = 250

/** Longest delay between announce retries (doubling from ANNOUNCE_RETRY_MS), ms. */
export const MAX_ANNOUNCE_RETRY_MS = 60_000

/** Time one provide may take once the routing table has a DHT server, ms. */
export const PROVIDE_TIMEOUT_MS = 30_000

/** Time given to provide() while the routing table is empty: enough to store the record locally, ms. */
export const LOCAL_PROVIDE_TIMEOUT_MS = 250

/** An RTT measured within this many ms is reused by findPeers instead of pinging again. */
export const RTT_MAX_AGE_MS = 30_000

/** Interval at which capabilities are provided again, ms (kad-dht provider records expire after 48 h; 12 h keeps them fresh). */
export const REANNOUNCE_INTERVAL_MS = 12 * 3600 * 1000

/** Shortest region prefix a station announces in the DHT: a `u33d` station is announced as `u3`, `u33` and `u33d` (a vehicle as `u33d` only). */
export const MIN_ANNOUNCED_REGION_PREFIX = 2

/** Most circuit relay reservations a station serves at once. */
export const RELAY_MAX_RESERVATIONS = 256

/**
 * Connection manager ceiling of a station. A station holds the vehicles that
 * bootstrap to it (two stations each: ~2 × vehicles ÷ stations, ~20 at one
 * station in ten), every other station (Kad-DHT servers reach each other)
 * and the requesters and bidders of its own jobs; bench/scale at 200 nodes
 * (20 stations) measured 40–60. Above it libp2p refuses inbound connections
 * and closes the least valued idle ones.
 */
export const STATION_MAX_CONNECTIONS = 100

/**
 * Connection manager ceiling of a vehicle. A vehicle keeps its two bootstrap
 * stations, the stations its DHT lookups dialled, and the requesters that
 * award it shards: bench/scale measured 2–5 when idle (1.6 on average at 50
 * nodes). 32 leaves room for a lookup that dials every station of a region
 * and for a vehicle that is itself a requester, while a vehicle can never
 * hold a station's share of the fleet.
 */
export const VEHICLE_MAX_CONNECTIONS = 32

/**
 * Gossipsub mesh degree of a station (D, Dlo, Dhi, Dout). Vehicles connect
 * to a few stations only, so a vehicle's mesh is its stations: it grafts
 * each of them. With gossipsub's default Dhi of 12 a station with more
 * vehicles than that prunes the rest out of its mesh (and refuses their
 * grafts for the 60 s back-off), and they get messages only through IHAVE
 * gossip to 6 random peers a heartbeat: bench/scale at 50 nodes (5
 * stations, ~9 vehicles each plus the other stations) saw 0 of 5 presence
 * messages reach every node within 5 s. A station keeps D = 8 peers it
 * chooses itself and accepts grafts up to Dhi = 64, enough for the ~20
 * vehicles of one station in ten plus every station of a region; past it
 * gossipsub prunes back to D as ever.
 */
export const STATION_GOSSIP_DEGREE = { D: 8, Dlo: 6, Dhi: 64, Dout: 2 } as const

/**
 * Gossipsub mesh degree of a vehicle (D, Dlo, Dhi, Dout). A vehicle holds
 * 2–5 connections (its bootstrap stations and the odd requester), so the
 * defaults (D 6, Dlo 4) leave its mesh below Dlo for ever and it tries to
 * graft every heartbeat. D 3, Dlo 2 (both bootstrap stations in the mesh),
 * Dhi 6.
 */
export const VEHICLE_GOSSIP_DEGREE = { D: 3, Dlo: 2, Dhi: 6, Dout: 1 } as const

/**
 * Interval of libp2p's connection monitor, which pings every connection on a
 * new stream (multistream-select, a peer store write per stream), ms.
 * libp2p's default of 10 s was the largest periodic cost of an idle station
 * in the bench/scale CPU profile (connection monitor, ping handler and the
 * peer store writes of their streams: ~4 % of the samples of 5 stations with
 * 31 connections each), and under load a late pong aborts the connection.
 * The market's lease heartbeats find a lost worker within seconds, so the
 * monitor only has to notice a silently dead peer (it closes a connection
 * whose ping times out) and keep NAT mappings open: once a minute.
 */
export const CONNECTION_MONITOR_INTERVAL_MS = 60_000

/**
 * Whether yamux sends its own keep-alive ping on each connection (at once,
 * then every 30 s, from both ends). Off: it only measures an RTT nothing
 * reads, and unlike the connection monitor it never closes a connection
 * whose pong does not come; the monitor's ping (CONNECTION_MONITOR_INTERVAL_MS)
 * keeps idle connections and NAT mappings alive. On, its pings and pongs
 * were 20 % of the CPU samples of an idle station process and 11 % of a
 * vehicle process (bench/scale, 100 nodes, 10 s idle window).
 * @default false
 */
export const YAMUX_KEEP_ALIVE = false

/**
 * Open connections one peer may hold to a node; a further inbound
 * connection from it is denied once encrypted (before any stream). Each
 * per-connection bound (the inbound stream budget, MAX_INFER_STREAMS and
 * the infer streams waiting for their open frame, every protocol's
 * `maxInboundStreams`) multiplies by it, and libp2p itself sets no such
 * limit. 3: a simultaneous dial leaves two, and a peer that reconnects
 * while its stale connection is not yet noticed dead needs one more.
 */
export const MAX_CONNECTIONS_PER_PEER = 3

/** Inbound connection attempts per second accepted from one host; libp2p's default of 5 drops bootstrap dials on a busy station. */
export const INBOUND_CONNECTION_THRESHOLD = 100

/**
 * Inbound connections a node lets wait in the upgrade (pnet, noise, yamux)
 * at once. libp2p's default of 10 resets bootstrap dials when a few dozen
 * nodes start against one station (measured with bench/discovery, 50 nodes).
 */
export const MAX_INCOMING_PENDING_CONNECTIONS = 64

/**
 * Bootstrap peers a node keeps re-dialling until it has admitted (or all of
 * its list, if shorter). A vehicle bootstraps to two stations of its
 * region; it re-dialled only while it had no peer at all, so one whose
 * dial to its second station failed under load (bench/scale, 200 nodes:
 * vehicles with one connection, one routing-table entry) kept a single
 * station for its gossip and lookups: one whose station answered no
 * provider and no closer station found nothing.
 */
export const BOOTSTRAP_MIN_PEERS = 2

/** First delay before re-dialling the bootstrap list while a bootstrap peer is missing (BOOTSTRAP_MIN_PEERS), ms; doubles up to MAX_BOOTSTRAP_RETRY_MS. */
export const BOOTSTRAP_RETRY_MS = 1000

/**
 * Longest delay between bootstrap re-dials, ms, while the node has no
 * admitted peer (a node without one serves nothing, and a re-dial is one
 * dial per bootstrap address). It was 60 s: a vehicle whose first dials were
 * refused under load (bench/scale, 50 nodes) doubled its way to 1 + 2 + … +
 * 60 s and took 2 min to join; at 10 s it retries within 10 s of the
 * refusal back-off ending (TIMEOUT_REFUSAL_BACKOFF_MS).
 */
export const MAX_BOOTSTRAP_RETRY_MS = 10_000

/** Time a whole model fetch may take by default, ms (a 256 MiB model at ~3 MB/s cellular would need more: raise it there). */
export const MODEL_FETCH_TIMEOUT_MS = 120_000

/** Name of the model store folder in a data directory. */
export const MODELS_DIR = 'models'

/** Name of the identity key file in a data directory. */
export const IDENTITY_FILE = 'identity.key'

/** Name of the datastore folder (peer store, DHT records) in a data directory. */
export const DATASTORE_DIR = 'datastore'

/** Subdirectory of the data directory holding the receipt ledger's LevelDB store. */
export const LEDGER_DIR = 'ledger'

/** Time a push of revocation lists to one peer may take, ms. */
export const REVOCATION_PUSH_TIMEOUT_MS = 5000

/** Name of the revocation list file a node loads from its data directory at start (written by `fleetmesh authority revoke --out`). */
export const REVOCATION_LIST_FILE = 'revocation.list'

/**
 * Time from a connection's start until the remote's pnet nonce and its
 * first handshake bytes must have arrived, ms. Two loopback or LAN round
 * trips take a few ms; 600 ms keeps a wrong or missing swarm key failing,
 * on both sides, within 1 s on a loaded node, and still fits a ~300 ms
 * cellular RTT (a fleet on slower links passes a longer timeout to
 * `swarmKeyProtector`).
 */
export const PNET_HANDSHAKE_TIMEOUT_MS = 600

/**
 * yamux initial stream window, bytes: how much a sender may put on a new
 * stream before the receiver's first window update. A stream moves at most
 * one window per round trip, so the window must cover the bandwidth-delay
 * product of the links a fleet runs on: a station LAN or site link of
 * 1 Gbit/s with a 10 ms RTT holds 1.25 MB in flight, so 2 MiB (yamux's own
 * default is 256 KiB, 1/5 of that: a 1 Gbit/s link would carry ~200 Mbit/s
 * per stream until the window grows). yamux assumes the same initial window
 * on both ends (a sender above its peer's window gets the stream reset), so
 * every node of a private network uses this value: it is not a per-node
 * setting.
 */
export const YAMUX_INITIAL_STREAM_WINDOW_BYTES = 2 * 1024 * 1024

/**
 * Largest yamux stream window a receiver grows to, bytes (it doubles the
 * window when a window's worth arrives within 4 RTTs). 4 MiB, the stream's
 * read buffer limit (libp2p's default `maxReadBufferLength`): a paused
 * reader then never holds more than its buffer allows, where yamux's
 * default of 16 MiB lets a fast sender overflow it and abort the stream.
 * It covers 1 Gbit/s at a 30 ms RTT.
 */
export const YAMUX_MAX_STREAM_WINDOW_BYTES = 4 * 1024 * 1024

/**
 * How long a fetcher waits, once every announced model byte has arrived, for
 * the provider to close its side, ms: bytes past the announced size in that
 * time get the provider cut and the fetch failed; a provider that simply
 * stays open is then closed on, and the verified model kept.
 */
export const MODEL_EOF_TIMEOUT_MS = 2000

/** A /fleetmesh/model stream's request must arrive within this, or the provider closes the stream (a silent stream held no longer), ms. */
export const MODEL_REQUEST_TIMEOUT_MS = 5000

/** Models a node keeps a data-residency restriction for (one per job that required a jurisdiction; the oldest forgotten first). */
export const MAX_RESTRICTED_MODELS = 1024

/**
 * Inbound streams one connection may open, before protocol negotiation
 * (stream-budget.ts): `perSecond` sustained, `burst` at once, and the
 * refused streams after which the connection is cut and its peer refused
 * for STREAM_FLOOD_BACKOFF_MS. An honest peer opens a few streams per
 * lease, DHT query, model chunk or ledger session: tens per second at
 * most (the market's own DIRECT_BUDGET is 50/s); bench/adversary's
 * feed-open flood opened ~1,900/s and the target's RSS grew by 98 MiB.
 */
export const INBOUND_STREAM_BUDGET = Object.freeze({ perSecond: 200, burst: 400, cutAfter: 200 })

/**
 * How long a peer that flooded this node with streams is refused, ms: it
 * is a member (its certificate is fine), so it is admitted again after
 * this, but each flood costs it its connection and this long.
 */
export const STREAM_FLOOD_BACKOFF_MS = 10_000

/** Delay after a station admits a station before it checks its Kad-DHT routing table holds the stations it admitted (the first check always runs a self-query, which admits the stations the DHT names), ms; checks repeat at doubling intervals while the table is short. */
export const ROUTING_TABLE_CHECK_MS = 5000

/**
 * Longest interval between a station's routing-table checks while its table
 * stays short, ms: the interval doubles from ROUTING_TABLE_CHECK_MS after
 * each check that saw nothing grow (5, 10, 20, 40, 60 s; one that saw the
 * table or the stations known grow keeps 5 s: nextRoutingCheckDelay), so a station keeps refilling, once
 * a minute at most, after the fleet's start-up load (it stopped after five
 * queries before, all of them during start-up at 200 nodes).
 */
export const MAX_ROUTING_TABLE_CHECK_MS = 60_000

/** Longest one such self-query runs, ms. */
export const ROUTING_TABLE_QUERY_TIMEOUT_MS = 10_000

/** Kad-DHT's bucket size K (kad-dht 16's default, the most peers a self-query looks for). */
export const K_BUCKET_SIZE = 20

/**
 * Kad-DHT's bucket size K on vehicles (DHT clients). kad-dht 16 sends a
 * provide's ADD_PROVIDER to the providing node's own K closest peers
 * (`getClosestPeers` keeps a `PeerDistanceList` of its `kBucketSize`), and
 * a query's walk ends once it finds no peer closer than its K closest that
 * answered; so with the default 20 every vehicle's provide walked to,
 * dialled and was admitted by every station once the stations' tables were
 * full, and idle CPU rose to 0.41 %/node at 200 nodes (bench/README,
 * scale). With 2, a vehicle's record lies on the 2 stations nearest each
 * key, where a lookup's walk ends, and a station that goes away leaves a
 * copy. Its lookups still yield up to K_BUCKET_SIZE providers
 * (lookupsYieldUpTo, dht-reach.ts: kad-dht stops a lookup after K).
 */
export const VEHICLE_K_BUCKET_SIZE = 2

/**
 * How long after a peer of unknown role enters a station's routing table it
 * is checked again, ms: one named in an answer is pinged into the table
 * before its certificate is exchanged, and if it turns out to be a vehicle
 * it is taken out then (admission takes well under a second on a calm
 * fleet; 3 s leaves room for a busy one).
 */
export const TABLE_ROLE_RECHECK_MS = 3000

/**
 * How long the peer store keeps a peer it has heard nothing new of, ms:
 * Kad-DHT's provider record validity (48 h, kad-dht 16's
 * `PROVIDERS_VALIDITY`) plus its hourly cleanup. libp2p's default (6 h)
 * is shorter than a provider record lives, and kad-dht answers no
 * GET_PROVIDERS of a key while one of its providers is missing from the
 * peer store (upstream: the handler's `peerStore.get` throws for it), so a
 * station failed every lookup of a key 6 h after one of its providers
 * last provided. Each ADD_PROVIDER refreshes the provider's entry, so an
 * entry now outlives every record of its peer. Cost: a departed peer's
 * entry (a few hundred bytes) is kept up to this long.
 */
export const PEER_STORE_MAX_PEER_AGE_MS = 49 * 3_600_000

/**
 * Smallest gossip message, bytes, for which gossipsub (v1.2) sends IDONTWANT
 * to its mesh peers (its default is 512). Every market and ledger message is
 * smaller than this (offers ≤ MAX_OFFER_BYTES, 16 KiB; bids ≤ 2 KiB;
 * receipts ≤ 4 KiB): for them an IDONTWANT, one control RPC encrypted and
 * framed per mesh peer, costs more than the duplicate it saves. A station
 * has up to Dhi (64) mesh peers, so each bid or receipt it forwarded cost
 * ~60 such writes: 5 % of the stations' process CPU in bench/scale's market
 * rounds (100 nodes, CPU profile). An integrator's topic carrying larger
 * messages still gets them.
 */
export const GOSSIP_IDONTWANT_MIN_BYTES = 32 * 1024

/** Most DHT servers a station remembers from the answers to its self-queries (a few buckets of K_BUCKET_SIZE). */
export const NAMED_STATIONS_MAX = 4 * K_BUCKET_SIZE

/**
 * Gossipsub's score maintenance period (its `decayInterval`, default 1 s),
 * ms. Each period every node walks its peers' score counters, a timer fire
 * per node per second whether or not anything happened: in an idle
 * 40-node process it was one of the two timers left firing every second
 * (the other is the heartbeat) once the market's and ledger's rounds ran
 * only with work. Scores decay by the same amount per second as before:
 * see GOSSIP_BEHAVIOUR_PENALTY_DECAY.
 */
export const GOSSIP_SCORE_DECAY_INTERVAL_MS = 5000

/**
 * Gossipsub's behaviour-penalty decay factor per GOSSIP_SCORE_DECAY_INTERVAL_MS:
 * gossipsub's default 0.2 per second, compounded over the 5 s period
 * (0.2^5), so a penalty fades as fast in time as with the defaults. The
 * fleet sets no topic score parameters; an integrator who does gives decays
 * per this period.
 */
export const GOSSIP_BEHAVIOUR_PENALTY_DECAY = 0.2 ** (GOSSIP_SCORE_DECAY_INTERVAL_MS / 1000)

/** Longest life of a ping stream, ms, asked or answered (`@libp2p/ping`'s TIMEOUT; ping-responder.ts). @default 10000 */
export const PING_TIMEOUT_MS = 10_000
