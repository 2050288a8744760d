import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface ReceiptBody {
  jobId: string
  shardIndex: number
  replica: number
  requester: Uint8Array<ArrayBuffer>
  worker: Uint8Array<ArrayBuffer>
  modelCid: string
  inputDigest: Uint8Array<ArrayBuffer>
  outputDigest: Uint8Array<ArrayBuffer>
  computeMs: bigint
  units: bigint
  pricePerUnit: number
  startedAt: bigint
  finishedAt: bigint
  leaseId: string
}

export namespace ReceiptBody {
  let _codec: Codec<ReceiptBody>

  export const codec = (): Codec<ReceiptBody> => {
    if (_codec == null) {
      _codec = message<ReceiptBody>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.jobId != null && obj.jobId !== '')) {
          w.uint32(10)
          w.string(obj.jobId)
        }

        if ((obj.shardIndex != null && obj.shardIndex !== 0)) {
          w.uint32(16)
          w.uint32(obj.shardIndex)
        }

        if ((obj.replica != null && obj.replica !== 0)) {
          w.uint32(24)
          w.uint32(obj.replica)
        }

        if ((obj.requester != null && obj.requester.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.requester)
        }

        if ((obj.worker != null && obj.worker.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.worker)
        }

        if ((obj.modelCid != null && obj.modelCid !== '')) {
          w.uint32(50)
          w.string(obj.modelCid)
        }

        if ((obj.inputDigest != null && obj.inputDigest.byteLength > 0)) {
          w.uint32(58)
          w.bytes(obj.inputDigest)
        }

        if ((obj.outputDigest != null && obj.outputDigest.byteLength > 0)) {
          w.uint32(66)
          w.bytes(obj.outputDigest)
        }

        if ((obj.computeMs != null && obj.computeMs !== 0n)) {
          w.uint32(72)
          w.uint64(obj.computeMs)
        }

        if ((obj.units != null && obj.units !== 0n)) {
          w.uint32(80)
          w.uint64(obj.units)
        }

        if ((obj.pricePerUnit != null && obj.pricePerUnit !== 0)) {
          w.uint32(89)
          w.double(obj.pricePerUnit)
        }

        if ((obj.startedAt != null && obj.startedAt !== 0n)) {
          w.uint32(96)
          w.uint64(obj.startedAt)
        }

        if ((obj.finishedAt != null && obj.finishedAt !== 0n)) {
          w.uint32(104)
          w.uint64(obj.finishedAt)
        }

        if ((obj.leaseId != null && obj.leaseId !== '')) {
          w.uint32(114)
          w.string(obj.leaseId)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          jobId: '',
          shardIndex: 0,
          replica: 0,
          requester: uint8ArrayAlloc(0),
          worker: uint8ArrayAlloc(0),
          modelCid: '',
          inputDigest: uint8ArrayAlloc(0),
          outputDigest: uint8ArrayAlloc(0),
          computeMs: 0n,
          units: 0n,
          pricePerUnit: 0,
          startedAt: 0n,
          finishedAt: 0n,
          leaseId: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.jobId = reader.string()
              break
            }
            case 2: {
              obj.shardIndex = reader.uint32()
              break
            }
            case 3: {
              obj.replica = reader.uint32()
              break
            }
            case 4: {
              obj.requester = reader.bytes()
              break
            }
            case 5: {
              obj.worker = reader.bytes()
              break
            }
            case 6: {
              obj.modelCid = reader.string()
              break
            }
            case 7: {
              obj.inputDigest = reader.bytes()
              break
            }
            case 8: {
              obj.outputDigest = reader.bytes()
              break
            }
            case 9: {
              obj.computeMs = reader.uint64()
              break
            }
            case 10: {
              obj.units = reader.uint64()
              break
            }
            case 11: {
              obj.pricePerUnit = reader.double()
              break
            }
            case 12: {
              obj.startedAt = reader.uint64()
              break
            }
            case 13: {
              obj.finishedAt = reader.uint64()
              break
            }
            case 14: {
              obj.leaseId = reader.string()
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
                field: `${prefix}.jobId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.shardIndex`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.replica`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.requester`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.worker`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.modelCid`,
                value: reader.string()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.inputDigest`,
                value: reader.bytes()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.outputDigest`,
                value: reader.bytes()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.computeMs`,
                value: reader.uint64()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.units`,
                value: reader.uint64()
              }
              break
            }
            case 11: {
              yield {
                field: `${prefix}.pricePerUnit`,
                value: reader.double()
              }
              break
            }
            case 12: {
              yield {
                field: `${prefix}.startedAt`,
                value: reader.uint64()
              }
              break
            }
            case 13: {
              yield {
                field: `${prefix}.finishedAt`,
                value: reader.uint64()
              }
              break
            }
            case 14: {
              yield {
                field: `${prefix}.leaseId`,
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

  export interface ReceiptBodyJobIdFieldEvent {
    field: '$.jobId'
    value: string
  }

  export interface ReceiptBodyShardIndexFieldEvent {
    field: '$.shardIndex'
    value: number
  }

  export interface ReceiptBodyReplicaFieldEvent {
    field: '$.replica'
    value: number
  }

  export interface ReceiptBodyRequesterFieldEvent {
    field: '$.requester'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptBodyWorkerFieldEvent {
    field: '$.worker'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptBodyModelCidFieldEvent {
    field: '$.modelCid'
    value: string
  }

  export interface ReceiptBodyInputDigestFieldEvent {
    field: '$.inputDigest'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptBodyOutputDigestFieldEvent {
    field: '$.outputDigest'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptBodyComputeMsFieldEvent {
    field: '$.computeMs'
    value: bigint
  }

  export interface ReceiptBodyUnitsFieldEvent {
    field: '$.units'
    value: bigint
  }

  export interface ReceiptBodyPricePerUnitFieldEvent {
    field: '$.pricePerUnit'
    value: number
  }

  export interface ReceiptBodyStartedAtFieldEvent {
    field: '$.startedAt'
    value: bigint
  }

  export interface ReceiptBodyFinishedAtFieldEvent {
    field: '$.finishedAt'
    value: bigint
  }

  export interface ReceiptBodyLeaseIdFieldEvent {
    field: '$.leaseId'
    value: string
  }

  export function encode (obj: Partial<ReceiptBody>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ReceiptBody.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ReceiptBody>): ReceiptBody {
    return decodeMessage(buf, ReceiptBody.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ReceiptBody>): Generator<ReceiptBodyJobIdFieldEvent | ReceiptBodyShardIndexFieldEvent | ReceiptBodyReplicaFieldEvent | ReceiptBodyRequesterFieldEvent | ReceiptBodyWorkerFieldEvent | ReceiptBodyModelCidFieldEvent | ReceiptBodyInputDigestFieldEvent | ReceiptBodyOutputDigestFieldEvent | ReceiptBodyComputeMsFieldEvent | ReceiptBodyUnitsFieldEvent | ReceiptBodyPricePerUnitFieldEvent | ReceiptBodyStartedAtFieldEvent | ReceiptBodyFinishedAtFieldEvent | ReceiptBodyLeaseIdFieldEvent> {
    return streamMessage(buf, ReceiptBody.codec(), opts)
  }
}

export interface Receipt {
  body: Uint8Array<ArrayBuffer>
  workerSignature: Uint8Array<ArrayBuffer>
  requesterSignature: Uint8Array<ArrayBuffer>
  workerCertificate: Uint8Array<ArrayBuffer>
  requesterCertificate: Uint8Array<ArrayBuffer>
}

export namespace Receipt {
  let _codec: Codec<Receipt>

  export const codec = (): Codec<Receipt> => {
    if (_codec == null) {
      _codec = message<Receipt>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.body != null && obj.body.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.body)
        }

        if ((obj.workerSignature != null && obj.workerSignature.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.workerSignature)
        }

        if ((obj.requesterSignature != null && obj.requesterSignature.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.requesterSignature)
        }

        if ((obj.workerCertificate != null && obj.workerCertificate.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.workerCertificate)
        }

        if ((obj.requesterCertificate != null && obj.requesterCertificate.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.requesterCertificate)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          body: uint8ArrayAlloc(0),
          workerSignature: uint8ArrayAlloc(0),
          requesterSignature: uint8ArrayAlloc(0),
          workerCertificate: uint8ArrayAlloc(0),
          requesterCertificate: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.body = reader.bytes()
              break
            }
            case 2: {
              obj.workerSignature = reader.bytes()
              break
            }
            case 3: {
              obj.requesterSignature = reader.bytes()
              break
            }
            case 4: {
              obj.workerCertificate = reader.bytes()
              break
            }
            case 5: {
              obj.requesterCertificate = reader.bytes()
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
                field: `${prefix}.body`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.workerSignature`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.requesterSignature`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.workerCertificate`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.requesterCertificate`,
                value: reader.bytes()
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

  export interface ReceiptBodyFieldEvent {
    field: '$.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptWorkerSignatureFieldEvent {
    field: '$.workerSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptRequesterSignatureFieldEvent {
    field: '$.requesterSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptWorkerCertificateFieldEvent {
    field: '$.workerCertificate'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptRequesterCertificateFieldEvent {
    field: '$.requesterCertificate'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Receipt>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Receipt.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Receipt>): Receipt {
    return decodeMessage(buf, Receipt.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Receipt>): Generator<ReceiptBodyFieldEvent | ReceiptWorkerSignatureFieldEvent | ReceiptRequesterSignatureFieldEvent | ReceiptWorkerCertificateFieldEvent | ReceiptRequesterCertificateFieldEvent> {
    return streamMessage(buf, Receipt.codec(), opts)
  }
}

export enum EvidenceKind {
  EVIDENCE_KIND_UNSPECIFIED = 'EVIDENCE_KIND_UNSPECIFIED',
  MISMATCH = 'MISMATCH',
  EQUIVOCATION = 'EQUIVOCATION'
}

enum __EvidenceKindValues {
  EVIDENCE_KIND_UNSPECIFIED = 0,
  MISMATCH = 1,
  EQUIVOCATION = 2
}

export namespace EvidenceKind {
  export const codec = (): Codec<EvidenceKind> => {
    return enumeration<EvidenceKind>(__EvidenceKindValues)
  }
}

export interface EvidenceBody {
  kind: EvidenceKind
  receipts: Receipt[]
  reporter: Uint8Array<ArrayBuffer>
  reporterCertificate: Uint8Array<ArrayBuffer>
  issuedAt: bigint
}

export namespace EvidenceBody {
  let _codec: Codec<EvidenceBody>

  export const codec = (): Codec<EvidenceBody> => {
    if (_codec == null) {
      _codec = message<EvidenceBody>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.kind != null && __EvidenceKindValues[obj.kind] !== 0) {
          w.uint32(8)
          EvidenceKind.codec().encode(obj.kind, w)
        }

        if (obj.receipts != null && obj.receipts.length > 0) {
          for (const value of obj.receipts) {
            w.uint32(18)
            Receipt.codec().encode(value, w)
          }
        }

        if ((obj.reporter != null && obj.reporter.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.reporter)
        }

        if ((obj.reporterCertificate != null && obj.reporterCertificate.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.reporterCertificate)
        }

        if ((obj.issuedAt != null && obj.issuedAt !== 0n)) {
          w.uint32(40)
          w.uint64(obj.issuedAt)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          kind: EvidenceKind.EVIDENCE_KIND_UNSPECIFIED,
          receipts: [],
          reporter: uint8ArrayAlloc(0),
          reporterCertificate: uint8ArrayAlloc(0),
          issuedAt: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.kind = EvidenceKind.codec().decode(reader)
              break
            }
            case 2: {
              if (opts.limits?.receipts != null && obj.receipts.length === opts.limits.receipts) {
                throw new MaxLengthError('Decode error - repeated field "receipts" had too many elements')
              }

              obj.receipts.push(Receipt.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.receipts$
              }))
              break
            }
            case 3: {
              obj.reporter = reader.bytes()
              break
            }
            case 4: {
              obj.reporterCertificate = reader.bytes()
              break
            }
            case 5: {
              obj.issuedAt = reader.uint64()
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
          receipts: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.kind`,
                value: EvidenceKind.codec().decode(reader)
              }
              break
            }
            case 2: {
              if (opts.limits?.receipts != null && obj.receipts === opts.limits.receipts) {
                throw new MaxLengthError('Streaming decode error - repeated field "receipts" had too many elements')
              }

              for (const evt of Receipt.codec().stream(reader, reader.uint32(), `${prefix}.receipts[]`, {
                limits: opts.limits?.receipts$
              })) {
                yield {
                  ...evt,
                  index: obj.receipts
                }
              }

              obj.receipts++

              break
            }
            case 3: {
              yield {
                field: `${prefix}.reporter`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.reporterCertificate`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.issuedAt`,
                value: reader.uint64()
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

  export interface EvidenceBodyKindFieldEvent {
    field: '$.kind'
    value: EvidenceKind
  }

  export interface EvidenceBodyReceiptsBodyFieldEvent {
    field: '$.receipts[].body'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface EvidenceBodyReceiptsWorkerSignatureFieldEvent {
    field: '$.receipts[].workerSignature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface EvidenceBodyReceiptsRequesterSignatureFieldEvent {
    field: '$.receipts[].requesterSignature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface EvidenceBodyReceiptsWorkerCertificateFieldEvent {
    field: '$.receipts[].workerCertificate'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface EvidenceBodyReceiptsRequesterCertificateFieldEvent {
    field: '$.receipts[].requesterCertificate'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface EvidenceBodyReporterFieldEvent {
    field: '$.reporter'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EvidenceBodyReporterCertificateFieldEvent {
    field: '$.reporterCertificate'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EvidenceBodyIssuedAtFieldEvent {
    field: '$.issuedAt'
    value: bigint
  }

  export function encode (obj: Partial<EvidenceBody>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, EvidenceBody.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<EvidenceBody>): EvidenceBody {
    return decodeMessage(buf, EvidenceBody.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<EvidenceBody>): Generator<EvidenceBodyKindFieldEvent | EvidenceBodyReceiptsBodyFieldEvent | EvidenceBodyReceiptsWorkerSignatureFieldEvent | EvidenceBodyReceiptsRequesterSignatureFieldEvent | EvidenceBodyReceiptsWorkerCertificateFieldEvent | EvidenceBodyReceiptsRequesterCertificateFieldEvent | EvidenceBodyReporterFieldEvent | EvidenceBodyReporterCertificateFieldEvent | EvidenceBodyIssuedAtFieldEvent> {
    return streamMessage(buf, EvidenceBody.codec(), opts)
  }
}

export interface Evidence {
  body: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
}

export namespace Evidence {
  let _codec: Codec<Evidence>

  export const codec = (): Codec<Evidence> => {
    if (_codec == null) {
      _codec = message<Evidence>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.body != null && obj.body.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.body)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          body: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.body = reader.bytes()
              break
            }
            case 2: {
              obj.signature = reader.bytes()
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
                field: `${prefix}.body`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
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

  export interface EvidenceBodyFieldEvent {
    field: '$.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EvidenceSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Evidence>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Evidence.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Evidence>): Evidence {
    return decodeMessage(buf, Evidence.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Evidence>): Generator<EvidenceBodyFieldEvent | EvidenceSignatureFieldEvent> {
    return streamMessage(buf, Evidence.codec(), opts)
  }
}

export interface GrantBody {
  grantId: string
  account: string
  microCredits: bigint
  issuedAt: bigint
  expiresAt: bigint
  authority: Uint8Array<ArrayBuffer>
}

export namespace GrantBody {
  let _codec: Codec<GrantBody>

  export const codec = (): Codec<GrantBody> => {
    if (_codec == null) {
      _codec = message<GrantBody>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.grantId != null && obj.grantId !== '')) {
          w.uint32(10)
          w.string(obj.grantId)
        }

        if ((obj.account != null && obj.account !== '')) {
          w.uint32(18)
          w.string(obj.account)
        }

        if ((obj.microCredits != null && obj.microCredits !== 0n)) {
          w.uint32(24)
          w.uint64(obj.microCredits)
        }

        if ((obj.issuedAt != null && obj.issuedAt !== 0n)) {
          w.uint32(32)
          w.uint64(obj.issuedAt)
        }

        if ((obj.expiresAt != null && obj.expiresAt !== 0n)) {
          w.uint32(40)
          w.uint64(obj.expiresAt)
        }

        if ((obj.authority != null && obj.authority.byteLength > 0)) {
          w.uint32(50)
          w.bytes(obj.authority)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          grantId: '',
          account: '',
          microCredits: 0n,
          issuedAt: 0n,
          expiresAt: 0n,
          authority: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.grantId = reader.string()
              break
            }
            case 2: {
              obj.account = reader.string()
              break
            }
            case 3: {
              obj.microCredits = reader.uint64()
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
              obj.authority = reader.bytes()
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
                field: `${prefix}.grantId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.account`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.microCredits`,
                value: reader.uint64()
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
                field: `${prefix}.authority`,
                value: reader.bytes()
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

  export interface GrantBodyGrantIdFieldEvent {
    field: '$.grantId'
    value: string
  }

  export interface GrantBodyAccountFieldEvent {
    field: '$.account'
    value: string
  }

  export interface GrantBodyMicroCreditsFieldEvent {
    field: '$.microCredits'
    value: bigint
  }

  export interface GrantBodyIssuedAtFieldEvent {
    field: '$.issuedAt'
    value: bigint
  }

  export interface GrantBodyExpiresAtFieldEvent {
    field: '$.expiresAt'
    value: bigint
  }

  export interface GrantBodyAuthorityFieldEvent {
    field: '$.authority'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<GrantBody>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, GrantBody.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<GrantBody>): GrantBody {
    return decodeMessage(buf, GrantBody.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<GrantBody>): Generator<GrantBodyGrantIdFieldEvent | GrantBodyAccountFieldEvent | GrantBodyMicroCreditsFieldEvent | GrantBodyIssuedAtFieldEvent | GrantBodyExpiresAtFieldEvent | GrantBodyAuthorityFieldEvent> {
    return streamMessage(buf, GrantBody.codec(), opts)
  }
}

export interface Grant {
  body: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
}

export namespace Grant {
  let _codec: Codec<Grant>

  export const codec = (): Codec<Grant> => {
    if (_codec == null) {
      _codec = message<Grant>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.body != null && obj.body.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.body)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          body: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.body = reader.bytes()
              break
            }
            case 2: {
              obj.signature = reader.bytes()
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
                field: `${prefix}.body`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
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

  export interface GrantBodyFieldEvent {
    field: '$.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface GrantSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Grant>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Grant.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Grant>): Grant {
    return decodeMessage(buf, Grant.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Grant>): Generator<GrantBodyFieldEvent | GrantSignatureFieldEvent> {
    return streamMessage(buf, Grant.codec(), opts)
  }
}

export interface LedgerEntry {
  receipt?: Receipt
  evidence?: Evidence
  grant?: Grant
}

export namespace LedgerEntry {
  let _codec: Codec<LedgerEntry>

  export const codec = (): Codec<LedgerEntry> => {
    if (_codec == null) {
      _codec = message<LedgerEntry>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.receipt != null) {
          w.uint32(10)
          Receipt.codec().encode(obj.receipt, w)
        }

        if (obj.evidence != null) {
          w.uint32(18)
          Evidence.codec().encode(obj.evidence, w)
        }

        if (obj.grant != null) {
          w.uint32(26)
          Grant.codec().encode(obj.grant, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {}

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.receipt = Receipt.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.receipt
              })
              break
            }
            case 2: {
              obj.evidence = Evidence.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.evidence
              })
              break
            }
            case 3: {
              obj.grant = Grant.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.grant
              })
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
              yield * Receipt.codec().stream(reader, reader.uint32(), `${prefix}.receipt`, {
                limits: opts.limits?.receipt
              })

              break
            }
            case 2: {
              yield * Evidence.codec().stream(reader, reader.uint32(), `${prefix}.evidence`, {
                limits: opts.limits?.evidence
              })

              break
            }
            case 3: {
              yield * Grant.codec().stream(reader, reader.uint32(), `${prefix}.grant`, {
                limits: opts.limits?.grant
              })

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

  export interface LedgerEntryReceiptBodyFieldEvent {
    field: '$.receipt.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface LedgerEntryReceiptWorkerSignatureFieldEvent {
    field: '$.receipt.workerSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface LedgerEntryReceiptRequesterSignatureFieldEvent {
    field: '$.receipt.requesterSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface LedgerEntryReceiptWorkerCertificateFieldEvent {
    field: '$.receipt.workerCertificate'
    value: Uint8Array<ArrayBuffer>
  }

  export interface LedgerEntryReceiptRequesterCertificateFieldEvent {
    field: '$.receipt.requesterCertificate'
    value: Uint8Array<ArrayBuffer>
  }

  export interface LedgerEntryEvidenceBodyFieldEvent {
    field: '$.evidence.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface LedgerEntryEvidenceSignatureFieldEvent {
    field: '$.evidence.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface LedgerEntryGrantBodyFieldEvent {
    field: '$.grant.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface LedgerEntryGrantSignatureFieldEvent {
    field: '$.grant.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<LedgerEntry>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, LedgerEntry.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LedgerEntry>): LedgerEntry {
    return decodeMessage(buf, LedgerEntry.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LedgerEntry>): Generator<LedgerEntryReceiptBodyFieldEvent | LedgerEntryReceiptWorkerSignatureFieldEvent | LedgerEntryReceiptRequesterSignatureFieldEvent | LedgerEntryReceiptWorkerCertificateFieldEvent | LedgerEntryReceiptRequesterCertificateFieldEvent | LedgerEntryEvidenceBodyFieldEvent | LedgerEntryEvidenceSignatureFieldEvent | LedgerEntryGrantBodyFieldEvent | LedgerEntryGrantSignatureFieldEvent> {
    return streamMessage(buf, LedgerEntry.codec(), opts)
  }
}

export interface PendingSettlement {
  jobId: string
  receipts: Receipt[]
  acceptedDigests: string[]
  createdAt: bigint
}

export namespace PendingSettlement {
  let _codec: Codec<PendingSettlement>

  export const codec = (): Codec<PendingSettlement> => {
    if (_codec == null) {
      _codec = message<PendingSettlement>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.jobId != null && obj.jobId !== '')) {
          w.uint32(10)
          w.string(obj.jobId)
        }

        if (obj.receipts != null && obj.receipts.length > 0) {
          for (const value of obj.receipts) {
            w.uint32(18)
            Receipt.codec().encode(value, w)
          }
        }

        if (obj.acceptedDigests != null && obj.acceptedDigests.length > 0) {
          for (const value of obj.acceptedDigests) {
            w.uint32(26)
            w.string(value)
          }
        }

        if ((obj.createdAt != null && obj.createdAt !== 0n)) {
          w.uint32(32)
          w.uint64(obj.createdAt)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          jobId: '',
          receipts: [],
          acceptedDigests: [],
          createdAt: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.jobId = reader.string()
              break
            }
            case 2: {
              if (opts.limits?.receipts != null && obj.receipts.length === opts.limits.receipts) {
                throw new MaxLengthError('Decode error - repeated field "receipts" had too many elements')
              }

              obj.receipts.push(Receipt.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.receipts$
              }))
              break
            }
            case 3: {
              if (opts.limits?.acceptedDigests != null && obj.acceptedDigests.length === opts.limits.acceptedDigests) {
                throw new MaxLengthError('Decode error - repeated field "acceptedDigests" had too many elements')
              }

              obj.acceptedDigests.push(reader.string())
              break
            }
            case 4: {
              obj.createdAt = reader.uint64()
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
          receipts: 0,
          acceptedDigests: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.jobId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              if (opts.limits?.receipts != null && obj.receipts === opts.limits.receipts) {
                throw new MaxLengthError('Streaming decode error - repeated field "receipts" had too many elements')
              }

              for (const evt of Receipt.codec().stream(reader, reader.uint32(), `${prefix}.receipts[]`, {
                limits: opts.limits?.receipts$
              })) {
                yield {
                  ...evt,
                  index: obj.receipts
                }
              }

              obj.receipts++

              break
            }
            case 3: {
              if (opts.limits?.acceptedDigests != null && obj.acceptedDigests === opts.limits.acceptedDigests) {
                throw new MaxLengthError('Streaming decode error - repeated field "acceptedDigests" had too many elements')
              }

              yield {
                field: `${prefix}.acceptedDigests[]`,
                index: obj.acceptedDigests,
                value: reader.string()
              }

              obj.acceptedDigests++

              break
            }
            case 4: {
              yield {
                field: `${prefix}.createdAt`,
                value: reader.uint64()
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

  export interface PendingSettlementJobIdFieldEvent {
    field: '$.jobId'
    value: string
  }

  export interface PendingSettlementReceiptsBodyFieldEvent {
    field: '$.receipts[].body'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface PendingSettlementReceiptsWorkerSignatureFieldEvent {
    field: '$.receipts[].workerSignature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface PendingSettlementReceiptsRequesterSignatureFieldEvent {
    field: '$.receipts[].requesterSignature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface PendingSettlementReceiptsWorkerCertificateFieldEvent {
    field: '$.receipts[].workerCertificate'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface PendingSettlementReceiptsRequesterCertificateFieldEvent {
    field: '$.receipts[].requesterCertificate'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface PendingSettlementAcceptedDigestsFieldEvent {
    field: '$.acceptedDigests[]'
    index: number
    value: string
  }

  export interface PendingSettlementCreatedAtFieldEvent {
    field: '$.createdAt'
    value: bigint
  }

  export function encode (obj: Partial<PendingSettlement>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PendingSettlement.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PendingSettlement>): PendingSettlement {
    return decodeMessage(buf, PendingSettlement.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PendingSettlement>): Generator<PendingSettlementJobIdFieldEvent | PendingSettlementReceiptsBodyFieldEvent | PendingSettlementReceiptsWorkerSignatureFieldEvent | PendingSettlementReceiptsRequesterSignatureFieldEvent | PendingSettlementReceiptsWorkerCertificateFieldEvent | PendingSettlementReceiptsRequesterCertificateFieldEvent | PendingSettlementAcceptedDigestsFieldEvent | PendingSettlementCreatedAtFieldEvent> {
    return streamMessage(buf, PendingSettlement.codec(), opts)
  }
}

export interface SettleRequest {
  receipt?: Receipt
}

export namespace SettleRequest {
  let _codec: Codec<SettleRequest>

  export const codec = (): Codec<SettleRequest> => {
    if (_codec == null) {
      _codec = message<SettleRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.receipt != null) {
          w.uint32(10)
          Receipt.codec().encode(obj.receipt, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {}

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.receipt = Receipt.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.receipt
              })
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
              yield * Receipt.codec().stream(reader, reader.uint32(), `${prefix}.receipt`, {
                limits: opts.limits?.receipt
              })

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

  export interface SettleRequestReceiptBodyFieldEvent {
    field: '$.receipt.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SettleRequestReceiptWorkerSignatureFieldEvent {
    field: '$.receipt.workerSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SettleRequestReceiptRequesterSignatureFieldEvent {
    field: '$.receipt.requesterSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SettleRequestReceiptWorkerCertificateFieldEvent {
    field: '$.receipt.workerCertificate'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SettleRequestReceiptRequesterCertificateFieldEvent {
    field: '$.receipt.requesterCertificate'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<SettleRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SettleRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SettleRequest>): SettleRequest {
    return decodeMessage(buf, SettleRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SettleRequest>): Generator<SettleRequestReceiptBodyFieldEvent | SettleRequestReceiptWorkerSignatureFieldEvent | SettleRequestReceiptRequesterSignatureFieldEvent | SettleRequestReceiptWorkerCertificateFieldEvent | SettleRequestReceiptRequesterCertificateFieldEvent> {
    return streamMessage(buf, SettleRequest.codec(), opts)
  }
}

export enum SettleStatus {
  SETTLE_STATUS_UNSPECIFIED = 'SETTLE_STATUS_UNSPECIFIED',
  COUNTERSIGNED = 'COUNTERSIGNED',
  REFUSED = 'REFUSED',
  PENDING = 'PENDING'
}

enum __SettleStatusValues {
  SETTLE_STATUS_UNSPECIFIED = 0,
  COUNTERSIGNED = 1,
  REFUSED = 2,
  PENDING = 3
}

export namespace SettleStatus {
  export const codec = (): Codec<SettleStatus> => {
    return enumeration<SettleStatus>(__SettleStatusValues)
  }
}

export interface SettleResponse {
  status: SettleStatus
  receipt?: Receipt
  reason: string
}

export namespace SettleResponse {
  let _codec: Codec<SettleResponse>

  export const codec = (): Codec<SettleResponse> => {
    if (_codec == null) {
      _codec = message<SettleResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.status != null && __SettleStatusValues[obj.status] !== 0) {
          w.uint32(8)
          SettleStatus.codec().encode(obj.status, w)
        }

        if (obj.receipt != null) {
          w.uint32(18)
          Receipt.codec().encode(obj.receipt, w)
        }

        if ((obj.reason != null && obj.reason !== '')) {
          w.uint32(26)
          w.string(obj.reason)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          status: SettleStatus.SETTLE_STATUS_UNSPECIFIED,
          reason: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.status = SettleStatus.codec().decode(reader)
              break
            }
            case 2: {
              obj.receipt = Receipt.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.receipt
              })
              break
            }
            case 3: {
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
                field: `${prefix}.status`,
                value: SettleStatus.codec().decode(reader)
              }
              break
            }
            case 2: {
              yield * Receipt.codec().stream(reader, reader.uint32(), `${prefix}.receipt`, {
                limits: opts.limits?.receipt
              })

              break
            }
            case 3: {
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

  export interface SettleResponseStatusFieldEvent {
    field: '$.status'
    value: SettleStatus
  }

  export interface SettleResponseReceiptBodyFieldEvent {
    field: '$.receipt.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SettleResponseReceiptWorkerSignatureFieldEvent {
    field: '$.receipt.workerSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SettleResponseReceiptRequesterSignatureFieldEvent {
    field: '$.receipt.requesterSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SettleResponseReceiptWorkerCertificateFieldEvent {
    field: '$.receipt.workerCertificate'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SettleResponseReceiptRequesterCertificateFieldEvent {
    field: '$.receipt.requesterCertificate'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SettleResponseReasonFieldEvent {
    field: '$.reason'
    value: string
  }

  export function encode (obj: Partial<SettleResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SettleResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SettleResponse>): SettleResponse {
    return decodeMessage(buf, SettleResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SettleResponse>): Generator<SettleResponseStatusFieldEvent | SettleResponseReceiptBodyFieldEvent | SettleResponseReceiptWorkerSignatureFieldEvent | SettleResponseReceiptRequesterSignatureFieldEvent | SettleResponseReceiptWorkerCertificateFieldEvent | SettleResponseReceiptRequesterCertificateFieldEvent | SettleResponseReasonFieldEvent> {
    return streamMessage(buf, SettleResponse.codec(), opts)
  }
}

export interface ShardReturn {
  receipt?: Receipt
  output: Uint8Array<ArrayBuffer>
}

export namespace ShardReturn {
  let _codec: Codec<ShardReturn>

  export const codec = (): Codec<ShardReturn> => {
    if (_codec == null) {
      _codec = message<ShardReturn>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.receipt != null) {
          w.uint32(10)
          Receipt.codec().encode(obj.receipt, w)
        }

        if ((obj.output != null && obj.output.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.output)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          output: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.receipt = Receipt.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.receipt
              })
              break
            }
            case 2: {
              obj.output = reader.bytes()
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
              yield * Receipt.codec().stream(reader, reader.uint32(), `${prefix}.receipt`, {
                limits: opts.limits?.receipt
              })

              break
            }
            case 2: {
              yield {
                field: `${prefix}.output`,
                value: reader.bytes()
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

  export interface ShardReturnReceiptBodyFieldEvent {
    field: '$.receipt.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ShardReturnReceiptWorkerSignatureFieldEvent {
    field: '$.receipt.workerSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ShardReturnReceiptRequesterSignatureFieldEvent {
    field: '$.receipt.requesterSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ShardReturnReceiptWorkerCertificateFieldEvent {
    field: '$.receipt.workerCertificate'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ShardReturnReceiptRequesterCertificateFieldEvent {
    field: '$.receipt.requesterCertificate'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ShardReturnOutputFieldEvent {
    field: '$.output'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<ShardReturn>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ShardReturn.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ShardReturn>): ShardReturn {
    return decodeMessage(buf, ShardReturn.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ShardReturn>): Generator<ShardReturnReceiptBodyFieldEvent | ShardReturnReceiptWorkerSignatureFieldEvent | ShardReturnReceiptRequesterSignatureFieldEvent | ShardReturnReceiptWorkerCertificateFieldEvent | ShardReturnReceiptRequesterCertificateFieldEvent | ShardReturnOutputFieldEvent> {
    return streamMessage(buf, ShardReturn.codec(), opts)
  }
}

export enum RangeMode {
  RANGE_MODE_SKIP = 'RANGE_MODE_SKIP',
  FINGERPRINT = 'FINGERPRINT',
  ID_LIST = 'ID_LIST'
}

enum __RangeModeValues {
  RANGE_MODE_SKIP = 0,
  FINGERPRINT = 1,
  ID_LIST = 2
}

export namespace RangeMode {
  export const codec = (): Codec<RangeMode> => {
    return enumeration<RangeMode>(__RangeModeValues)
  }
}

export interface ReconcileRange {
  upperBound: Uint8Array<ArrayBuffer>
  infinite: boolean
  mode: RangeMode
  fingerprint: Uint8Array<ArrayBuffer>
  ids: Uint8Array<ArrayBuffer>
}

export namespace ReconcileRange {
  let _codec: Codec<ReconcileRange>

  export const codec = (): Codec<ReconcileRange> => {
    if (_codec == null) {
      _codec = message<ReconcileRange>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.upperBound != null && obj.upperBound.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.upperBound)
        }

        if ((obj.infinite != null && obj.infinite !== false)) {
          w.uint32(16)
          w.bool(obj.infinite)
        }

        if (obj.mode != null && __RangeModeValues[obj.mode] !== 0) {
          w.uint32(24)
          RangeMode.codec().encode(obj.mode, w)
        }

        if ((obj.fingerprint != null && obj.fingerprint.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.fingerprint)
        }

        if ((obj.ids != null && obj.ids.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.ids)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          upperBound: uint8ArrayAlloc(0),
          infinite: false,
          mode: RangeMode.RANGE_MODE_SKIP,
          fingerprint: uint8ArrayAlloc(0),
          ids: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.upperBound = reader.bytes()
              break
            }
            case 2: {
              obj.infinite = reader.bool()
              break
            }
            case 3: {
              obj.mode = RangeMode.codec().decode(reader)
              break
            }
            case 4: {
              obj.fingerprint = reader.bytes()
              break
            }
            case 5: {
              obj.ids = reader.bytes()
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
                field: `${prefix}.upperBound`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.infinite`,
                value: reader.bool()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.mode`,
                value: RangeMode.codec().decode(reader)
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.fingerprint`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.ids`,
                value: reader.bytes()
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

  export interface ReconcileRangeUpperBoundFieldEvent {
    field: '$.upperBound'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReconcileRangeInfiniteFieldEvent {
    field: '$.infinite'
    value: boolean
  }

  export interface ReconcileRangeModeFieldEvent {
    field: '$.mode'
    value: RangeMode
  }

  export interface ReconcileRangeFingerprintFieldEvent {
    field: '$.fingerprint'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReconcileRangeIdsFieldEvent {
    field: '$.ids'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<ReconcileRange>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ReconcileRange.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ReconcileRange>): ReconcileRange {
    return decodeMessage(buf, ReconcileRange.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ReconcileRange>): Generator<ReconcileRangeUpperBoundFieldEvent | ReconcileRangeInfiniteFieldEvent | ReconcileRangeModeFieldEvent | ReconcileRangeFingerprintFieldEvent | ReconcileRangeIdsFieldEvent> {
    return streamMessage(buf, ReconcileRange.codec(), opts)
  }
}

export interface ReconcileMessage {
  ranges: ReconcileRange[]
  entries: Uint8Array<ArrayBuffer>[]
  want: Uint8Array<ArrayBuffer>
  more: boolean
  symbols: Uint8Array<ArrayBuffer>
  symbolStart: number
  symbolsWanted: number
  setSize: bigint
  rangesOnly: boolean
}

export namespace ReconcileMessage {
  let _codec: Codec<ReconcileMessage>

  export const codec = (): Codec<ReconcileMessage> => {
    if (_codec == null) {
      _codec = message<ReconcileMessage>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.ranges != null && obj.ranges.length > 0) {
          for (const value of obj.ranges) {
            w.uint32(10)
            ReconcileRange.codec().encode(value, w)
          }
        }

        if (obj.entries != null && obj.entries.length > 0) {
          for (const value of obj.entries) {
            w.uint32(18)
            w.bytes(value)
          }
        }

        if ((obj.want != null && obj.want.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.want)
        }

        if ((obj.more != null && obj.more !== false)) {
          w.uint32(32)
          w.bool(obj.more)
        }

        if ((obj.symbols != null && obj.symbols.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.symbols)
        }

        if ((obj.symbolStart != null && obj.symbolStart !== 0)) {
          w.uint32(48)
          w.uint32(obj.symbolStart)
        }

        if ((obj.symbolsWanted != null && obj.symbolsWanted !== 0)) {
          w.uint32(56)
          w.uint32(obj.symbolsWanted)
        }

        if ((obj.setSize != null && obj.setSize !== 0n)) {
          w.uint32(64)
          w.uint64(obj.setSize)
        }

        if ((obj.rangesOnly != null && obj.rangesOnly !== false)) {
          w.uint32(72)
          w.bool(obj.rangesOnly)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          ranges: [],
          entries: [],
          want: uint8ArrayAlloc(0),
          more: false,
          symbols: uint8ArrayAlloc(0),
          symbolStart: 0,
          symbolsWanted: 0,
          setSize: 0n,
          rangesOnly: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.ranges != null && obj.ranges.length === opts.limits.ranges) {
                throw new MaxLengthError('Decode error - repeated field "ranges" had too many elements')
              }

              obj.ranges.push(ReconcileRange.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.ranges$
              }))
              break
            }
            case 2: {
              if (opts.limits?.entries != null && obj.entries.length === opts.limits.entries) {
                throw new MaxLengthError('Decode error - repeated field "entries" had too many elements')
              }

              obj.entries.push(reader.bytes())
              break
            }
            case 3: {
              obj.want = reader.bytes()
              break
            }
            case 4: {
              obj.more = reader.bool()
              break
            }
            case 5: {
              obj.symbols = reader.bytes()
              break
            }
            case 6: {
              obj.symbolStart = reader.uint32()
              break
            }
            case 7: {
              obj.symbolsWanted = reader.uint32()
              break
            }
            case 8: {
              obj.setSize = reader.uint64()
              break
            }
            case 9: {
              obj.rangesOnly = reader.bool()
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
          ranges: 0,
          entries: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.ranges != null && obj.ranges === opts.limits.ranges) {
                throw new MaxLengthError('Streaming decode error - repeated field "ranges" had too many elements')
              }

              for (const evt of ReconcileRange.codec().stream(reader, reader.uint32(), `${prefix}.ranges[]`, {
                limits: opts.limits?.ranges$
              })) {
                yield {
                  ...evt,
                  index: obj.ranges
                }
              }

              obj.ranges++

              break
            }
            case 2: {
              if (opts.limits?.entries != null && obj.entries === opts.limits.entries) {
                throw new MaxLengthError('Streaming decode error - repeated field "entries" had too many elements')
              }

              yield {
                field: `${prefix}.entries[]`,
                index: obj.entries,
                value: reader.bytes()
              }

              obj.entries++

              break
            }
            case 3: {
              yield {
                field: `${prefix}.want`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.more`,
                value: reader.bool()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.symbols`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.symbolStart`,
                value: reader.uint32()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.symbolsWanted`,
                value: reader.uint32()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.setSize`,
                value: reader.uint64()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.rangesOnly`,
                value: reader.bool()
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

  export interface ReconcileMessageRangesUpperBoundFieldEvent {
    field: '$.ranges[].upperBound'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ReconcileMessageRangesInfiniteFieldEvent {
    field: '$.ranges[].infinite'
    value: boolean
    index: number
  }

  export interface ReconcileMessageRangesModeFieldEvent {
    field: '$.ranges[].mode'
    value: RangeMode
    index: number
  }

  export interface ReconcileMessageRangesFingerprintFieldEvent {
    field: '$.ranges[].fingerprint'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ReconcileMessageRangesIdsFieldEvent {
    field: '$.ranges[].ids'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ReconcileMessageEntriesFieldEvent {
    field: '$.entries[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReconcileMessageWantFieldEvent {
    field: '$.want'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReconcileMessageMoreFieldEvent {
    field: '$.more'
    value: boolean
  }

  export interface ReconcileMessageSymbolsFieldEvent {
    field: '$.symbols'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReconcileMessageSymbolStartFieldEvent {
    field: '$.symbolStart'
    value: number
  }

  export interface ReconcileMessageSymbolsWantedFieldEvent {
    field: '$.symbolsWanted'
    value: number
  }

  export interface ReconcileMessageSetSizeFieldEvent {
    field: '$.setSize'
    value: bigint
  }

  export interface ReconcileMessageRangesOnlyFieldEvent {
    field: '$.rangesOnly'
    value: boolean
  }

  export function encode (obj: Partial<ReconcileMessage>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ReconcileMessage.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ReconcileMessage>): ReconcileMessage {
    return decodeMessage(buf, ReconcileMessage.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ReconcileMessage>): Generator<ReconcileMessageRangesUpperBoundFieldEvent | ReconcileMessageRangesInfiniteFieldEvent | ReconcileMessageRangesModeFieldEvent | ReconcileMessageRangesFingerprintFieldEvent | ReconcileMessageRangesIdsFieldEvent | ReconcileMessageEntriesFieldEvent | ReconcileMessageWantFieldEvent | ReconcileMessageMoreFieldEvent | ReconcileMessageSymbolsFieldEvent | ReconcileMessageSymbolStartFieldEvent | ReconcileMessageSymbolsWantedFieldEvent | ReconcileMessageSetSizeFieldEvent | ReconcileMessageRangesOnlyFieldEvent> {
    return streamMessage(buf, ReconcileMessage.codec(), opts)
  }
}
