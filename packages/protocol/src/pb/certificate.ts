import { decodeMessage, encodeMessage, enumeration, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export enum Role {
  ROLE_UNSPECIFIED = 'ROLE_UNSPECIFIED',
  VEHICLE = 'VEHICLE',
  STATION = 'STATION'
}

enum __RoleValues {
  ROLE_UNSPECIFIED = 0,
  VEHICLE = 1,
  STATION = 2
}

export namespace Role {
  export const codec = (): Codec<Role> => {
    return enumeration<Role>(__RoleValues)
  }
}

export interface CertificateBody {
  peerId: Uint8Array<ArrayBuffer>
  role: Role
  region: string
  issuedAt: bigint
  expiresAt: bigint
  owner: string
  notBefore: bigint
  jurisdiction: string
}

export namespace CertificateBody {
  let _codec: Codec<CertificateBody>

  export const codec = (): Codec<CertificateBody> => {
    if (_codec == null) {
      _codec = message<CertificateBody>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.peerId != null && obj.peerId.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.peerId)
        }

        if (obj.role != null && __RoleValues[obj.role] !== 0) {
          w.uint32(16)
          Role.codec().encode(obj.role, w)
        }

        if ((obj.region != null && obj.region !== '')) {
          w.uint32(26)
          w.string(obj.region)
        }

        if ((obj.issuedAt != null && obj.issuedAt !== 0n)) {
          w.uint32(32)
          w.uint64(obj.issuedAt)
        }

        if ((obj.expiresAt != null && obj.expiresAt !== 0n)) {
          w.uint32(40)
          w.uint64(obj.expiresAt)
        }

        if ((obj.owner != null && obj.owner !== '')) {
          w.uint32(50)
          w.string(obj.owner)
        }

        if ((obj.notBefore != null && obj.notBefore !== 0n)) {
          w.uint32(56)
          w.uint64(obj.notBefore)
        }

        if ((obj.jurisdiction != null && obj.jurisdiction !== '')) {
          w.uint32(66)
          w.string(obj.jurisdiction)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          peerId: uint8ArrayAlloc(0),
          role: Role.ROLE_UNSPECIFIED,
          region: '',
          issuedAt: 0n,
          expiresAt: 0n,
          owner: '',
          notBefore: 0n,
          jurisdiction: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.peerId = reader.bytes()
              break
            }
            case 2: {
              obj.role = Role.codec().decode(reader)
              break
            }
            case 3: {
              obj.region = reader.string()
              break
            }
            case 4: {
              obj.issuedAt = reader.uint64()
              break
            }
            case 5: {
              obj.expiresAt = reader.uint64()
              break
            }
            case 6: {
              obj.owner = reader.string()
              break
            }
            case 7: {
              obj.notBefore = reader.uint64()
              break
            }
            case 8: {
              obj.jurisdiction = reader.string()
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
                field: `${prefix}.peerId`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.role`,
                value: Role.codec().decode(reader)
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.region`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.issuedAt`,
                value: reader.uint64()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.expiresAt`,
                value: reader.uint64()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.owner`,
                value: reader.string()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.notBefore`,
                value: reader.uint64()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.jurisdiction`,
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

  export interface CertificateBodyPeerIdFieldEvent {
    field: '$.peerId'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CertificateBodyRoleFieldEvent {
    field: '$.role'
    value: Role
  }

  export interface CertificateBodyRegionFieldEvent {
    field: '$.region'
    value: string
  }

  export interface CertificateBodyIssuedAtFieldEvent {
    field: '$.issuedAt'
    value: bigint
  }

  export interface CertificateBodyExpiresAtFieldEvent {
    field: '$.expiresAt'
    value: bigint
  }

  export interface CertificateBodyOwnerFieldEvent {
    field: '$.owner'
    value: string
  }

  export interface CertificateBodyNotBeforeFieldEvent {
    field: '$.notBefore'
    value: bigint
  }

  export interface CertificateBodyJurisdictionFieldEvent {
    field: '$.jurisdiction'
    value: string
  }

  export function encode (obj: Partial<CertificateBody>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, CertificateBody.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CertificateBody>): CertificateBody {
    return decodeMessage(buf, CertificateBody.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CertificateBody>): Generator<CertificateBodyPeerIdFieldEvent | CertificateBodyRoleFieldEvent | CertificateBodyRegionFieldEvent | CertificateBodyIssuedAtFieldEvent | CertificateBodyExpiresAtFieldEvent | CertificateBodyOwnerFieldEvent | CertificateBodyNotBeforeFieldEvent | CertificateBodyJurisdictionFieldEvent> {
    return streamMessage(buf, CertificateBody.codec(), opts)
  }
}
