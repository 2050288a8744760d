/**
 * Protocol ids. Every fleetmesh protocol is `/fleetmesh/<name>/<semver>`;
 * bump the version instead of changing a message silently.
 */

/** Prefix of every fleetmesh protocol id and of the private Kad-DHT. */
export const PROTOCOL_PREFIX = '/fleetmesh'

/**
 * The private Kad-DHT protocol (never the public IPFS `/ipfs/kad/1.0.0`),
 * passed to @libp2p/kad-dht as its `protocol` option.
 */
export const DHT_PROTOCOL = `${PROTOCOL_PREFIX}/kad/1.0.0`

/** Certificate exchange on every new connection. */
export const ADMISSION_PROTOCOL = `${PROTOCOL_PREFIX}/admission/1.0.0`

/**
 * Model transfer by CID: a length-prefixed ModelRequest, then a
 * length-prefixed ModelHeader followed by the raw model bytes (1.1.0; 1.0.0
 * re-encoded every 256 KiB chunk into a protobuf message).
 */
export const MODEL_PROTOCOL = `${PROTOCOL_PREFIX}/model/1.1.0`

/** Awards, accepts, heartbeats between a requester and a worker. */
export const MARKET_PROTOCOL = `${PROTOCOL_PREFIX}/market/1.0.0`

/** Tensor streams for shard execution. */
export const INFER_PROTOCOL = `${PROTOCOL_PREFIX}/infer/1.2.0`

/** Set reconciliation of ledger entries: range-based for near-identical sets, rateless IBLT coded symbols for large differences. */
export const RECONCILE_PROTOCOL = `${PROTOCOL_PREFIX}/reconcile/2.0.0`

/** A worker presents a receipt it holds to its requester again, until it is countersigned or refused. */
export const SETTLE_PROTOCOL = `${PROTOCOL_PREFIX}/settle/1.0.0`

/** Push of the fleet authorities' revocation lists to a newly admitted peer. */
export const REVOCATION_PROTOCOL = `${PROTOCOL_PREFIX}/revocation/1.0.0`

/** Domain of the signed envelope that holds a revocation list. */
export const REVOCATION_DOMAIN = 'fleetmesh-revocation'

/** Payload type (codec) of a revocation list envelope. */
export const REVOCATION_PAYLOAD_TYPE = new TextEncoder().encode('/fleetmesh/revocation/1')

/** Domain of the signed envelope that holds a device certificate. */
export const CERTIFICATE_DOMAIN = 'fleetmesh-certificate'

/** Payload type (codec) of a certificate envelope. */
export const CERTIFICATE_PAYLOAD_TYPE = new TextEncoder().encode('/fleetmesh/certificate/1')

/** Domain of the signed envelopes that carry market messages (offers, bids, awards, ...). */
export const MARKET_DOMAIN = 'fleetmesh-market'

/** Payload type (codec) of a market message envelope. */
export const MARKET_PAYLOAD_TYPE = new TextEncoder().encode('/fleetmesh/market/1')
