import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface RevocationEntry {
  serial: Uint8Array<ArrayBuffer>
  peerId: Uint8Array<ArrayBuffer>
  revokedAt: bigint
  reason: string
}

export namespace RevocationEntry {
  let _codec: Codec<RevocationEntry>

  export const codec = (): Codec<RevocationEntry> => {
    if (_codec == null) {
      _codec = message<RevocationEntry>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.serial != null && obj.serial.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.serial)
        }

        if ((obj.peerId != null && obj.peerId.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.peerId)
        }

        if ((obj.revokedAt != null && obj.revokedAt !== 0n)) {
          w.uint32(24)
          w.uint64(obj.revokedAt)
        }

        if ((obj.reason != null && obj.reason !== '')) {
          w.uint32(34)
          w.string(obj.reason)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          serial: uint8ArrayAlloc(0),
          peerId: uint8ArrayAlloc(0),
          revokedAt: 0n,
          reason: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.serial = reader.bytes()
              break
            }
            case 2: {
              obj.peerId = reader.bytes()
              break
            }
            case 3: {
              obj.revokedAt = reader.uint64()
              break
            }
            case 4: {
              obj.reason = reader.string()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.serial`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.peerId`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.revokedAt`,
                value: reader.uint64()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.reason`,
                value: reader.string()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface RevocationEntrySerialFieldEvent {
    field: '$.serial'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RevocationEntryPeerIdFieldEvent {
    field: '$.peerId'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RevocationEntryRevokedAtFieldEvent {
    field: '$.revokedAt'
    value: bigint
  }

  export interface RevocationEntryReasonFieldEvent {
    field: '$.reason'
    value: string
  }

  export function encode (obj: Partial<RevocationEntry>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, RevocationEntry.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RevocationEntry>): RevocationEntry {
    return decodeMessage(buf, RevocationEntry.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RevocationEntry>): Generator<RevocationEntrySerialFieldEvent | RevocationEntryPeerIdFieldEvent | RevocationEntryRevokedAtFieldEvent | RevocationEntryReasonFieldEvent> {
    return streamMessage(buf, RevocationEntry.codec(), opts)
  }
}

export interface RevocationListBody {
  sequence: bigint
  issuedAt: bigint
  entries: RevocationEntry[]
}

export namespace RevocationListBody {
  let _codec: Codec<RevocationListBody>

  export const codec = (): Codec<RevocationListBody> => {
    if (_codec == null) {
      _codec = message<RevocationListBody>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.sequence != null && obj.sequence !== 0n)) {
          w.uint32(8)
          w.uint64(obj.sequence)
        }

        if ((obj.issuedAt != null && obj.issuedAt !== 0n)) {
          w.uint32(16)
          w.uint64(obj.issuedAt)
        }

        if (obj.entries != null && obj.entries.length > 0) {
          for (const value of obj.entries) {
            w.uint32(26)
            RevocationEntry.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          sequence: 0n,
          issuedAt: 0n,
          entries: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.sequence = reader.uint64()
              break
            }
            case 2: {
              obj.issuedAt = reader.uint64()
              break
            }
            case 3: {
              if (opts.limits?.entries != null && obj.entries.length === opts.limits.entries) {
                throw new MaxLengthError('Decode error - repeated field "entries" had too many elements')
              }

              obj.entries.push(RevocationEntry.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.entries$
              }))
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          entries: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.sequence`,
                value: reader.uint64()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.issuedAt`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              if (opts.limits?.entries != null && obj.entries === opts.limits.entries) {
                throw new MaxLengthError('Streaming decode error - repeated field "entries" had too many elements')
              }

              for (const evt of RevocationEntry.codec().stream(reader, reader.uint32(), `${prefix}.entries[]`, {
                limits: opts.limits?.entries$
              })) {
                yield {
                  ...evt,
                  index: obj.entries
                }
              }

              obj.entries++

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface RevocationListBodySequenceFieldEvent {
    field: '$.sequence'
    value: bigint
  }

  export interface RevocationListBodyIssuedAtFieldEvent {
    field: '$.issuedAt'
    value: bigint
  }

  export interface RevocationListBodyEntriesSerialFieldEvent {
    field: '$.entries[].serial'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface RevocationListBodyEntriesPeerIdFieldEvent {
    field: '$.entries[].peerId'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface RevocationListBodyEntriesRevokedAtFieldEvent {
    field: '$.entries[].revokedAt'
    value: bigint
    index: number
  }

  export interface RevocationListBodyEntriesReasonFieldEvent {
    field: '$.entries[].reason'
    value: string
    index: number
  }

  export function encode (obj: Partial<RevocationListBody>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, RevocationListBody.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RevocationListBody>): RevocationListBody {
    return decodeMessage(buf, RevocationListBody.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RevocationListBody>): Generator<RevocationListBodySequenceFieldEvent | RevocationListBodyIssuedAtFieldEvent | RevocationListBodyEntriesSerialFieldEvent | RevocationListBodyEntriesPeerIdFieldEvent | RevocationListBodyEntriesRevokedAtFieldEvent | RevocationListBodyEntriesReasonFieldEvent> {
    return streamMessage(buf, RevocationListBody.codec(), opts)
  }
}
