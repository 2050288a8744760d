import { FleetmeshError } from '@fleetmesh/protocol'

/** A swarm key is not in the libp2p pnet format (`/key/swarm/psk/1.0.0/`, `/base16/`, 64 hex chars). */
export class InvalidSwarmKeyError extends FleetmeshError {
  override readonly name = 'InvalidSwarmKeyError'
  readonly code = 'ERR_INVALID_SWARM_KEY'
}

/** The data directory cannot be used: unreadable, or holds a corrupt identity key. */
export class DataDirError extends FleetmeshError {
  override readonly name = 'DataDirError'
  readonly code = 'ERR_DATA_DIR'
}

/** A remote peer refused this node's certificate, or this node refused the peer's. */
export class AdmissionRefusedError extends FleetmeshError {
  override readonly name = 'AdmissionRefusedError'
  readonly code = 'ERR_ADMISSION_REFUSED'
  /** the code of the underlying certificate error, e.g. ERR_CERTIFICATE_EXPIRED */
  readonly reason: string

  constructor (message: string, reason: string) {
    super(message)
    this.reason = reason
  }
}

/** An operation needs a peer that has not (yet) been admitted. */
export class NotAdmittedError extends FleetmeshError {
  override readonly name = 'NotAdmittedError'
  readonly code = 'ERR_NOT_ADMITTED'
}

/** This node's own certificate does not fit it: wrong PeerId, role or region, or expired. */
export class OwnCertificateError extends FleetmeshError {
  override readonly name = 'OwnCertificateError'
  readonly code = 'ERR_OWN_CERTIFICATE'
}

/** A `findPeers` query names nothing to look for or has a bad field. */
export class InvalidQueryError extends FleetmeshError {
  override readonly name = 'InvalidQueryError'
  readonly code = 'ERR_INVALID_QUERY'
}

/** A model could not be fetched from any provider; `attempts` lists each provider tried and why it failed. */
export class ModelFetchError extends FleetmeshError {
  override readonly name = 'ModelFetchError'
  readonly code = 'ERR_MODEL_FETCH'
  readonly attempts: Array<{ peer: string, code: string, message: string }>

  constructor (message: string, attempts: Array<{ peer: string, code: string, message: string }>) {
    super(message)
    this.attempts = attempts
  }
}

/** A model fetch was cut because this node is stopping; nothing of it is left in the store. Fetch again once the node runs. */
export class ModelFetchAbortedError extends FleetmeshError {
  override readonly name = 'ModelFetchAbortedError'
  readonly code = 'ERR_MODEL_FETCH_ABORTED'
}

/** A model operation on a node started without a model store. */
export class ModelsUnavailableError extends FleetmeshError {
  override readonly name = 'ModelsUnavailableError'
  readonly code = 'ERR_MODELS_UNAVAILABLE'
}

/**
 * A peer broke /fleetmesh/model: a header over the size limit, a stream
 * ending early, or more raw bytes than its header announced (the stream is
 * cut at once). Try another provider.
 */
export class ModelProtocolError extends FleetmeshError {
  override readonly name = 'ModelProtocolError'
  readonly code = 'ERR_MODEL_PROTOCOL'
}

/** A peer opened more inbound streams on one connection than this node's budget (INBOUND_STREAM_BUDGET): the stream is reset before negotiation, and a flood cuts the connection. */
export class InboundStreamFloodError extends FleetmeshError {
  override readonly name = 'InboundStreamFloodError'
  readonly code = 'ERR_STREAM_FLOOD'
}

/** A ping stream this node answered stayed open past PING_TIMEOUT_MS, or closed while its echo waited to be sent: the stream is aborted. */
export class PingResponseTimeoutError extends FleetmeshError {
  override readonly name = 'PingResponseTimeoutError'
  readonly code = 'ERR_PING_RESPONSE_TIMEOUT'
}
