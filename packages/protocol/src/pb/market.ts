import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export enum JobMode {
  MODE_UNSPECIFIED = 'MODE_UNSPECIFIED',
  DATA = 'DATA',
  PIPELINE = 'PIPELINE'
}

enum __JobModeValues {
  MODE_UNSPECIFIED = 0,
  DATA = 1,
  PIPELINE = 2
}

export namespace JobMode {
  export const codec = (): Codec<JobMode> => {
    return enumeration<JobMode>(__JobModeValues)
  }
}

export enum BidderRole {
  BIDDER_ROLE_UNSPECIFIED = 'BIDDER_ROLE_UNSPECIFIED',
  VEHICLE = 'VEHICLE',
  STATION = 'STATION'
}

enum __BidderRoleValues {
  BIDDER_ROLE_UNSPECIFIED = 0,
  VEHICLE = 1,
  STATION = 2
}

export namespace BidderRole {
  export const codec = (): Codec<BidderRole> => {
    return enumeration<BidderRole>(__BidderRoleValues)
  }
}

export interface JobOffer {
  jobId: string
  requester: Uint8Array<ArrayBuffer>
  modelCid: string
  mode: JobMode
  shardUnits: bigint[]
  maxPricePerUnit: number
  deadline: bigint
  redundancy: number
  minReputation: number
  region: string
  round: number
  openShards: number[]
  bidWindowMs: number
  modelBytes?: bigint
  maxFrameBytes?: bigint
  inputs: OfferInput[]
  jurisdiction?: string
  session?: boolean
  bidsWanted?: number
  regionWorkers?: number
}

export namespace JobOffer {
  let _codec: Codec<JobOffer>

  export const codec = (): Codec<JobOffer> => {
    if (_codec == null) {
      _codec = message<JobOffer>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.jobId != null && obj.jobId !== '')) {
          w.uint32(10)
          w.string(obj.jobId)
        }

        if ((obj.requester != null && obj.requester.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.requester)
        }

        if ((obj.modelCid != null && obj.modelCid !== '')) {
          w.uint32(26)
          w.string(obj.modelCid)
        }

        if (obj.mode != null && __JobModeValues[obj.mode] !== 0) {
          w.uint32(32)
          JobMode.codec().encode(obj.mode, w)
        }

        if (obj.shardUnits != null && obj.shardUnits.length > 0) {
          for (const value of obj.shardUnits) {
            w.uint32(40)
            w.uint64(value)
          }
        }

        if ((obj.maxPricePerUnit != null && obj.maxPricePerUnit !== 0)) {
          w.uint32(49)
          w.double(obj.maxPricePerUnit)
        }

        if ((obj.deadline != null && obj.deadline !== 0n)) {
          w.uint32(56)
          w.uint64(obj.deadline)
        }

        if ((obj.redundancy != null && obj.redundancy !== 0)) {
          w.uint32(64)
          w.uint32(obj.redundancy)
        }

        if ((obj.minReputation != null && obj.minReputation !== 0)) {
          w.uint32(73)
          w.double(obj.minReputation)
        }

        if ((obj.region != null && obj.region !== '')) {
          w.uint32(82)
          w.string(obj.region)
        }

        if ((obj.round != null && obj.round !== 0)) {
          w.uint32(88)
          w.uint32(obj.round)
        }

        if (obj.openShards != null && obj.openShards.length > 0) {
          for (const value of obj.openShards) {
            w.uint32(96)
            w.uint32(value)
          }
        }

        if ((obj.bidWindowMs != null && obj.bidWindowMs !== 0)) {
          w.uint32(104)
          w.uint32(obj.bidWindowMs)
        }

        if (obj.modelBytes != null) {
          w.uint32(112)
          w.uint64(obj.modelBytes)
        }

        if (obj.maxFrameBytes != null) {
          w.uint32(120)
          w.uint64(obj.maxFrameBytes)
        }

        if (obj.inputs != null && obj.inputs.length > 0) {
          for (const value of obj.inputs) {
            w.uint32(130)
            OfferInput.codec().encode(value, w)
          }
        }

        if (obj.jurisdiction != null) {
          w.uint32(138)
          w.string(obj.jurisdiction)
        }

        if (obj.session != null) {
          w.uint32(144)
          w.bool(obj.session)
        }

        if (obj.bidsWanted != null) {
          w.uint32(152)
          w.uint32(obj.bidsWanted)
        }

        if (obj.regionWorkers != null) {
          w.uint32(160)
          w.uint32(obj.regionWorkers)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          jobId: '',
          requester: uint8ArrayAlloc(0),
          modelCid: '',
          mode: JobMode.MODE_UNSPECIFIED,
          shardUnits: [],
          maxPricePerUnit: 0,
          deadline: 0n,
          redundancy: 0,
          minReputation: 0,
          region: '',
          round: 0,
          openShards: [],
          bidWindowMs: 0,
          inputs: []
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
              obj.requester = reader.bytes()
              break
            }
            case 3: {
              obj.modelCid = reader.string()
              break
            }
            case 4: {
              obj.mode = JobMode.codec().decode(reader)
              break
            }
            case 5: {
              if (opts.limits?.shardUnits != null && obj.shardUnits.length === opts.limits.shardUnits) {
                throw new MaxLengthError('Decode error - repeated field "shardUnits" had too many elements')
              }

              obj.shardUnits.push(reader.uint64())
              break
            }
            case 6: {
              obj.maxPricePerUnit = reader.double()
              break
            }
            case 7: {
              obj.deadline = reader.uint64()
              break
            }
            case 8: {
              obj.redundancy = reader.uint32()
              break
            }
            case 9: {
              obj.minReputation = reader.double()
              break
            }
            case 10: {
              obj.region = reader.string()
              break
            }
            case 11: {
              obj.round = reader.uint32()
              break
            }
            case 12: {
              if (opts.limits?.openShards != null && obj.openShards.length === opts.limits.openShards) {
                throw new MaxLengthError('Decode error - repeated field "openShards" had too many elements')
              }

              obj.openShards.push(reader.uint32())
              break
            }
            case 13: {
              obj.bidWindowMs = reader.uint32()
              break
            }
            case 14: {
              obj.modelBytes = reader.uint64()
              break
            }
            case 15: {
              obj.maxFrameBytes = reader.uint64()
              break
            }
            case 16: {
              if (opts.limits?.inputs != null && obj.inputs.length === opts.limits.inputs) {
                throw new MaxLengthError('Decode error - repeated field "inputs" had too many elements')
              }

              obj.inputs.push(OfferInput.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.inputs$
              }))
              break
            }
            case 17: {
              obj.jurisdiction = reader.string()
              break
            }
            case 18: {
              obj.session = reader.bool()
              break
            }
            case 19: {
              obj.bidsWanted = reader.uint32()
              break
            }
            case 20: {
              obj.regionWorkers = reader.uint32()
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
          shardUnits: 0,
          openShards: 0,
          inputs: 0
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
              yield {
                field: `${prefix}.requester`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.modelCid`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.mode`,
                value: JobMode.codec().decode(reader)
              }
              break
            }
            case 5: {
              if (opts.limits?.shardUnits != null && obj.shardUnits === opts.limits.shardUnits) {
                throw new MaxLengthError('Streaming decode error - repeated field "shardUnits" had too many elements')
              }

              yield {
                field: `${prefix}.shardUnits[]`,
                index: obj.shardUnits,
                value: reader.uint64()
              }

              obj.shardUnits++

              break
            }
            case 6: {
              yield {
                field: `${prefix}.maxPricePerUnit`,
                value: reader.double()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.deadline`,
                value: reader.uint64()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.redundancy`,
                value: reader.uint32()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.minReputation`,
                value: reader.double()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.region`,
                value: reader.string()
              }
              break
            }
            case 11: {
              yield {
                field: `${prefix}.round`,
                value: reader.uint32()
              }
              break
            }
            case 12: {
              if (opts.limits?.openShards != null && obj.openShards === opts.limits.openShards) {
                throw new MaxLengthError('Streaming decode error - repeated field "openShards" had too many elements')
              }

              yield {
                field: `${prefix}.openShards[]`,
                index: obj.openShards,
                value: reader.uint32()
              }

              obj.openShards++

              break
            }
            case 13: {
              yield {
                field: `${prefix}.bidWindowMs`,
                value: reader.uint32()
              }
              break
            }
            case 14: {
              yield {
                field: `${prefix}.modelBytes`,
                value: reader.uint64()
              }
              break
            }
            case 15: {
              yield {
                field: `${prefix}.maxFrameBytes`,
                value: reader.uint64()
              }
              break
            }
            case 16: {
              if (opts.limits?.inputs != null && obj.inputs === opts.limits.inputs) {
                throw new MaxLengthError('Streaming decode error - repeated field "inputs" had too many elements')
              }

              for (const evt of OfferInput.codec().stream(reader, reader.uint32(), `${prefix}.inputs[]`, {
                limits: opts.limits?.inputs$
              })) {
                yield {
                  ...evt,
                  index: obj.inputs
                }
              }

              obj.inputs++

              break
            }
            case 17: {
              yield {
                field: `${prefix}.jurisdiction`,
                value: reader.string()
              }
              break
            }
            case 18: {
              yield {
                field: `${prefix}.session`,
                value: reader.bool()
              }
              break
            }
            case 19: {
              yield {
                field: `${prefix}.bidsWanted`,
                value: reader.uint32()
              }
              break
            }
            case 20: {
              yield {
                field: `${prefix}.regionWorkers`,
                value: reader.uint32()
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

  export interface JobOfferJobIdFieldEvent {
    field: '$.jobId'
    value: string
  }

  export interface JobOfferRequesterFieldEvent {
    field: '$.requester'
    value: Uint8Array<ArrayBuffer>
  }

  export interface JobOfferModelCidFieldEvent {
    field: '$.modelCid'
    value: string
  }

  export interface JobOfferModeFieldEvent {
    field: '$.mode'
    value: JobMode
  }

  export interface JobOfferShardUnitsFieldEvent {
    field: '$.shardUnits[]'
    index: number
    value: bigint
  }

  export interface JobOfferMaxPricePerUnitFieldEvent {
    field: '$.maxPricePerUnit'
    value: number
  }

  export interface JobOfferDeadlineFieldEvent {
    field: '$.deadline'
    value: bigint
  }

  export interface JobOfferRedundancyFieldEvent {
    field: '$.redundancy'
    value: number
  }

  export interface JobOfferMinReputationFieldEvent {
    field: '$.minReputation'
    value: number
  }

  export interface JobOfferRegionFieldEvent {
    field: '$.region'
    value: string
  }

  export interface JobOfferRoundFieldEvent {
    field: '$.round'
    value: number
  }

  export interface JobOfferOpenShardsFieldEvent {
    field: '$.openShards[]'
    index: number
    value: number
  }

  export interface JobOfferBidWindowMsFieldEvent {
    field: '$.bidWindowMs'
    value: number
  }

  export interface JobOfferModelBytesFieldEvent {
    field: '$.modelBytes'
    value: bigint
  }

  export interface JobOfferMaxFrameBytesFieldEvent {
    field: '$.maxFrameBytes'
    value: bigint
  }

  export interface JobOfferInputsNameFieldEvent {
    field: '$.inputs[].name'
    value: string
    index: number
  }

  export interface JobOfferInputsDtypeFieldEvent {
    field: '$.inputs[].dtype'
    value: string
    index: number
  }

  export interface JobOfferInputsDimsFieldEvent {
    field: '$.inputs[].dims[]'
    index: number
    value: number
  }

  export interface JobOfferJurisdictionFieldEvent {
    field: '$.jurisdiction'
    value: string
  }

  export interface JobOfferSessionFieldEvent {
    field: '$.session'
    value: boolean
  }

  export interface JobOfferBidsWantedFieldEvent {
    field: '$.bidsWanted'
    value: number
  }

  export interface JobOfferRegionWorkersFieldEvent {
    field: '$.regionWorkers'
    value: number
  }

  export function encode (obj: Partial<JobOffer>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, JobOffer.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JobOffer>): JobOffer {
    return decodeMessage(buf, JobOffer.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JobOffer>): Generator<JobOfferJobIdFieldEvent | JobOfferRequesterFieldEvent | JobOfferModelCidFieldEvent | JobOfferModeFieldEvent | JobOfferShardUnitsFieldEvent | JobOfferMaxPricePerUnitFieldEvent | JobOfferDeadlineFieldEvent | JobOfferRedundancyFieldEvent | JobOfferMinReputationFieldEvent | JobOfferRegionFieldEvent | JobOfferRoundFieldEvent | JobOfferOpenShardsFieldEvent | JobOfferBidWindowMsFieldEvent | JobOfferModelBytesFieldEvent | JobOfferMaxFrameBytesFieldEvent | JobOfferInputsNameFieldEvent | JobOfferInputsDtypeFieldEvent | JobOfferInputsDimsFieldEvent | JobOfferJurisdictionFieldEvent | JobOfferSessionFieldEvent | JobOfferBidsWantedFieldEvent | JobOfferRegionWorkersFieldEvent> {
    return streamMessage(buf, JobOffer.codec(), opts)
  }
}

export interface OfferInput {
  name: string
  dtype: string
  dims: number[]
}

export namespace OfferInput {
  let _codec: Codec<OfferInput>

  export const codec = (): Codec<OfferInput> => {
    if (_codec == null) {
      _codec = message<OfferInput>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.name != null && obj.name !== '')) {
          w.uint32(10)
          w.string(obj.name)
        }

        if ((obj.dtype != null && obj.dtype !== '')) {
          w.uint32(18)
          w.string(obj.dtype)
        }

        if (obj.dims != null && obj.dims.length > 0) {
          for (const value of obj.dims) {
            w.uint32(24)
            w.uint32(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          name: '',
          dtype: '',
          dims: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.name = reader.string()
              break
            }
            case 2: {
              obj.dtype = reader.string()
              break
            }
            case 3: {
              if (opts.limits?.dims != null && obj.dims.length === opts.limits.dims) {
                throw new MaxLengthError('Decode error - repeated field "dims" had too many elements')
              }

              obj.dims.push(reader.uint32())
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
          dims: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.name`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.dtype`,
                value: reader.string()
              }
              break
            }
            case 3: {
              if (opts.limits?.dims != null && obj.dims === opts.limits.dims) {
                throw new MaxLengthError('Streaming decode error - repeated field "dims" had too many elements')
              }

              yield {
                field: `${prefix}.dims[]`,
                index: obj.dims,
                value: reader.uint32()
              }

              obj.dims++

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

  export interface OfferInputNameFieldEvent {
    field: '$.name'
    value: string
  }

  export interface OfferInputDtypeFieldEvent {
    field: '$.dtype'
    value: string
  }

  export interface OfferInputDimsFieldEvent {
    field: '$.dims[]'
    index: number
    value: number
  }

  export function encode (obj: Partial<OfferInput>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, OfferInput.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<OfferInput>): OfferInput {
    return decodeMessage(buf, OfferInput.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<OfferInput>): Generator<OfferInputNameFieldEvent | OfferInputDtypeFieldEvent | OfferInputDimsFieldEvent> {
    return streamMessage(buf, OfferInput.codec(), opts)
  }
}

export interface Bid {
  jobId: string
  bidder: Uint8Array<ArrayBuffer>
  pricePerUnit: number
  msPerUnit: number
  setupMs: number
  capacity: number
  modelCached: boolean
  role: BidderRole
  round: number
  addrs: Uint8Array<ArrayBuffer>[]
}

export namespace Bid {
  let _codec: Codec<Bid>

  export const codec = (): Codec<Bid> => {
    if (_codec == null) {
      _codec = message<Bid>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.jobId != null && obj.jobId !== '')) {
          w.uint32(10)
          w.string(obj.jobId)
        }

        if ((obj.bidder != null && obj.bidder.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.bidder)
        }

        if ((obj.pricePerUnit != null && obj.pricePerUnit !== 0)) {
          w.uint32(25)
          w.double(obj.pricePerUnit)
        }

        if ((obj.msPerUnit != null && obj.msPerUnit !== 0)) {
          w.uint32(33)
          w.double(obj.msPerUnit)
        }

        if ((obj.setupMs != null && obj.setupMs !== 0)) {
          w.uint32(40)
          w.uint32(obj.setupMs)
        }

        if ((obj.capacity != null && obj.capacity !== 0)) {
          w.uint32(48)
          w.uint32(obj.capacity)
        }

        if ((obj.modelCached != null && obj.modelCached !== false)) {
          w.uint32(56)
          w.bool(obj.modelCached)
        }

        if (obj.role != null && __BidderRoleValues[obj.role] !== 0) {
          w.uint32(64)
          BidderRole.codec().encode(obj.role, w)
        }

        if ((obj.round != null && obj.round !== 0)) {
          w.uint32(72)
          w.uint32(obj.round)
        }

        if (obj.addrs != null && obj.addrs.length > 0) {
          for (const value of obj.addrs) {
            w.uint32(82)
            w.bytes(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          jobId: '',
          bidder: uint8ArrayAlloc(0),
          pricePerUnit: 0,
          msPerUnit: 0,
          setupMs: 0,
          capacity: 0,
          modelCached: false,
          role: BidderRole.BIDDER_ROLE_UNSPECIFIED,
          round: 0,
          addrs: []
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
              obj.bidder = reader.bytes()
              break
            }
            case 3: {
              obj.pricePerUnit = reader.double()
              break
            }
            case 4: {
              obj.msPerUnit = reader.double()
              break
            }
            case 5: {
              obj.setupMs = reader.uint32()
              break
            }
            case 6: {
              obj.capacity = reader.uint32()
              break
            }
            case 7: {
              obj.modelCached = reader.bool()
              break
            }
            case 8: {
              obj.role = BidderRole.codec().decode(reader)
              break
            }
            case 9: {
              obj.round = reader.uint32()
              break
            }
            case 10: {
              if (opts.limits?.addrs != null && obj.addrs.length === opts.limits.addrs) {
                throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements')
              }

              obj.addrs.push(reader.bytes())
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
          addrs: 0
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
              yield {
                field: `${prefix}.bidder`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.pricePerUnit`,
                value: reader.double()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.msPerUnit`,
                value: reader.double()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.setupMs`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.capacity`,
                value: reader.uint32()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.modelCached`,
                value: reader.bool()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.role`,
                value: BidderRole.codec().decode(reader)
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.round`,
                value: reader.uint32()
              }
              break
            }
            case 10: {
              if (opts.limits?.addrs != null && obj.addrs === opts.limits.addrs) {
                throw new MaxLengthError('Streaming decode error - repeated field "addrs" had too many elements')
              }

              yield {
                field: `${prefix}.addrs[]`,
                index: obj.addrs,
                value: reader.bytes()
              }

              obj.addrs++

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

  export interface BidJobIdFieldEvent {
    field: '$.jobId'
    value: string
  }

  export interface BidBidderFieldEvent {
    field: '$.bidder'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BidPricePerUnitFieldEvent {
    field: '$.pricePerUnit'
    value: number
  }

  export interface BidMsPerUnitFieldEvent {
    field: '$.msPerUnit'
    value: number
  }

  export interface BidSetupMsFieldEvent {
    field: '$.setupMs'
    value: number
  }

  export interface BidCapacityFieldEvent {
    field: '$.capacity'
    value: number
  }

  export interface BidModelCachedFieldEvent {
    field: '$.modelCached'
    value: boolean
  }

  export interface BidRoleFieldEvent {
    field: '$.role'
    value: BidderRole
  }

  export interface BidRoundFieldEvent {
    field: '$.round'
    value: number
  }

  export interface BidAddrsFieldEvent {
    field: '$.addrs[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Bid>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Bid.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Bid>): Bid {
    return decodeMessage(buf, Bid.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Bid>): Generator<BidJobIdFieldEvent | BidBidderFieldEvent | BidPricePerUnitFieldEvent | BidMsPerUnitFieldEvent | BidSetupMsFieldEvent | BidCapacityFieldEvent | BidModelCachedFieldEvent | BidRoleFieldEvent | BidRoundFieldEvent | BidAddrsFieldEvent> {
    return streamMessage(buf, Bid.codec(), opts)
  }
}

export interface Award {
  jobId: string
  leaseId: string
  shardIndex: number
  replica: number
  units: bigint
  pricePerUnit: number
  leaseTimeoutMs: number
  deadline: bigint
  modelCid: string
  mode: JobMode
  shardCount: number
}

export namespace Award {
  let _codec: Codec<Award>

  export const codec = (): Codec<Award> => {
    if (_codec == null) {
      _codec = message<Award>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.jobId != null && obj.jobId !== '')) {
          w.uint32(10)
          w.string(obj.jobId)
        }

        if ((obj.leaseId != null && obj.leaseId !== '')) {
          w.uint32(18)
          w.string(obj.leaseId)
        }

        if ((obj.shardIndex != null && obj.shardIndex !== 0)) {
          w.uint32(24)
          w.uint32(obj.shardIndex)
        }

        if ((obj.replica != null && obj.replica !== 0)) {
          w.uint32(32)
          w.uint32(obj.replica)
        }

        if ((obj.units != null && obj.units !== 0n)) {
          w.uint32(40)
          w.uint64(obj.units)
        }

        if ((obj.pricePerUnit != null && obj.pricePerUnit !== 0)) {
          w.uint32(49)
          w.double(obj.pricePerUnit)
        }

        if ((obj.leaseTimeoutMs != null && obj.leaseTimeoutMs !== 0)) {
          w.uint32(56)
          w.uint32(obj.leaseTimeoutMs)
        }

        if ((obj.deadline != null && obj.deadline !== 0n)) {
          w.uint32(64)
          w.uint64(obj.deadline)
        }

        if ((obj.modelCid != null && obj.modelCid !== '')) {
          w.uint32(74)
          w.string(obj.modelCid)
        }

        if (obj.mode != null && __JobModeValues[obj.mode] !== 0) {
          w.uint32(80)
          JobMode.codec().encode(obj.mode, w)
        }

        if ((obj.shardCount != null && obj.shardCount !== 0)) {
          w.uint32(88)
          w.uint32(obj.shardCount)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          jobId: '',
          leaseId: '',
          shardIndex: 0,
          replica: 0,
          units: 0n,
          pricePerUnit: 0,
          leaseTimeoutMs: 0,
          deadline: 0n,
          modelCid: '',
          mode: JobMode.MODE_UNSPECIFIED,
          shardCount: 0
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
              obj.leaseId = reader.string()
              break
            }
            case 3: {
              obj.shardIndex = reader.uint32()
              break
            }
            case 4: {
              obj.replica = reader.uint32()
              break
            }
            case 5: {
              obj.units = reader.uint64()
              break
            }
            case 6: {
              obj.pricePerUnit = reader.double()
              break
            }
            case 7: {
              obj.leaseTimeoutMs = reader.uint32()
              break
            }
            case 8: {
              obj.deadline = reader.uint64()
              break
            }
            case 9: {
              obj.modelCid = reader.string()
              break
            }
            case 10: {
              obj.mode = JobMode.codec().decode(reader)
              break
            }
            case 11: {
              obj.shardCount = reader.uint32()
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
                field: `${prefix}.leaseId`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.shardIndex`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.replica`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.units`,
                value: reader.uint64()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.pricePerUnit`,
                value: reader.double()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.leaseTimeoutMs`,
                value: reader.uint32()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.deadline`,
                value: reader.uint64()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.modelCid`,
                value: reader.string()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.mode`,
                value: JobMode.codec().decode(reader)
              }
              break
            }
            case 11: {
              yield {
                field: `${prefix}.shardCount`,
                value: reader.uint32()
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

  export interface AwardJobIdFieldEvent {
    field: '$.jobId'
    value: string
  }

  export interface AwardLeaseIdFieldEvent {
    field: '$.leaseId'
    value: string
  }

  export interface AwardShardIndexFieldEvent {
    field: '$.shardIndex'
    value: number
  }

  export interface AwardReplicaFieldEvent {
    field: '$.replica'
    value: number
  }

  export interface AwardUnitsFieldEvent {
    field: '$.units'
    value: bigint
  }

  export interface AwardPricePerUnitFieldEvent {
    field: '$.pricePerUnit'
    value: number
  }

  export interface AwardLeaseTimeoutMsFieldEvent {
    field: '$.leaseTimeoutMs'
    value: number
  }

  export interface AwardDeadlineFieldEvent {
    field: '$.deadline'
    value: bigint
  }

  export interface AwardModelCidFieldEvent {
    field: '$.modelCid'
    value: string
  }

  export interface AwardModeFieldEvent {
    field: '$.mode'
    value: JobMode
  }

  export interface AwardShardCountFieldEvent {
    field: '$.shardCount'
    value: number
  }

  export function encode (obj: Partial<Award>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Award.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Award>): Award {
    return decodeMessage(buf, Award.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Award>): Generator<AwardJobIdFieldEvent | AwardLeaseIdFieldEvent | AwardShardIndexFieldEvent | AwardReplicaFieldEvent | AwardUnitsFieldEvent | AwardPricePerUnitFieldEvent | AwardLeaseTimeoutMsFieldEvent | AwardDeadlineFieldEvent | AwardModelCidFieldEvent | AwardModeFieldEvent | AwardShardCountFieldEvent> {
    return streamMessage(buf, Award.codec(), opts)
  }
}

export interface Accept {
  jobId: string
  leaseId: string
}

export namespace Accept {
  let _codec: Codec<Accept>

  export const codec = (): Codec<Accept> => {
    if (_codec == null) {
      _codec = message<Accept>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.jobId != null && obj.jobId !== '')) {
          w.uint32(10)
          w.string(obj.jobId)
        }

        if ((obj.leaseId != null && obj.leaseId !== '')) {
          w.uint32(18)
          w.string(obj.leaseId)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          jobId: '',
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

  export interface AcceptJobIdFieldEvent {
    field: '$.jobId'
    value: string
  }

  export interface AcceptLeaseIdFieldEvent {
    field: '$.leaseId'
    value: string
  }

  export function encode (obj: Partial<Accept>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Accept.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Accept>): Accept {
    return decodeMessage(buf, Accept.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Accept>): Generator<AcceptJobIdFieldEvent | AcceptLeaseIdFieldEvent> {
    return streamMessage(buf, Accept.codec(), opts)
  }
}

export interface Decline {
  jobId: string
  leaseId: string
  reason: string
}

export namespace Decline {
  let _codec: Codec<Decline>

  export const codec = (): Codec<Decline> => {
    if (_codec == null) {
      _codec = message<Decline>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.jobId != null && obj.jobId !== '')) {
          w.uint32(10)
          w.string(obj.jobId)
        }

        if ((obj.leaseId != null && obj.leaseId !== '')) {
          w.uint32(18)
          w.string(obj.leaseId)
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
          jobId: '',
          leaseId: '',
          reason: ''
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
              obj.leaseId = reader.string()
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
                field: `${prefix}.jobId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.leaseId`,
                value: reader.string()
              }
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

  export interface DeclineJobIdFieldEvent {
    field: '$.jobId'
    value: string
  }

  export interface DeclineLeaseIdFieldEvent {
    field: '$.leaseId'
    value: string
  }

  export interface DeclineReasonFieldEvent {
    field: '$.reason'
    value: string
  }

  export function encode (obj: Partial<Decline>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Decline.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Decline>): Decline {
    return decodeMessage(buf, Decline.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Decline>): Generator<DeclineJobIdFieldEvent | DeclineLeaseIdFieldEvent | DeclineReasonFieldEvent> {
    return streamMessage(buf, Decline.codec(), opts)
  }
}

export interface Heartbeat {
  leaseIds: string[]
}

export namespace Heartbeat {
  let _codec: Codec<Heartbeat>

  export const codec = (): Codec<Heartbeat> => {
    if (_codec == null) {
      _codec = message<Heartbeat>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.leaseIds != null && obj.leaseIds.length > 0) {
          for (const value of obj.leaseIds) {
            w.uint32(10)
            w.string(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          leaseIds: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.leaseIds != null && obj.leaseIds.length === opts.limits.leaseIds) {
                throw new MaxLengthError('Decode error - repeated field "leaseIds" had too many elements')
              }

              obj.leaseIds.push(reader.string())
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
          leaseIds: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.leaseIds != null && obj.leaseIds === opts.limits.leaseIds) {
                throw new MaxLengthError('Streaming decode error - repeated field "leaseIds" had too many elements')
              }

              yield {
                field: `${prefix}.leaseIds[]`,
                index: obj.leaseIds,
                value: reader.string()
              }

              obj.leaseIds++

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

  export interface HeartbeatLeaseIdsFieldEvent {
    field: '$.leaseIds[]'
    index: number
    value: string
  }

  export function encode (obj: Partial<Heartbeat>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Heartbeat.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Heartbeat>): Heartbeat {
    return decodeMessage(buf, Heartbeat.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Heartbeat>): Generator<HeartbeatLeaseIdsFieldEvent> {
    return streamMessage(buf, Heartbeat.codec(), opts)
  }
}

export interface Release {
  jobId: string
  leaseId: string
  reason: string
}

export namespace Release {
  let _codec: Codec<Release>

  export const codec = (): Codec<Release> => {
    if (_codec == null) {
      _codec = message<Release>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.jobId != null && obj.jobId !== '')) {
          w.uint32(10)
          w.string(obj.jobId)
        }

        if ((obj.leaseId != null && obj.leaseId !== '')) {
          w.uint32(18)
          w.string(obj.leaseId)
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
          jobId: '',
          leaseId: '',
          reason: ''
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
              obj.leaseId = reader.string()
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
                field: `${prefix}.jobId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.leaseId`,
                value: reader.string()
              }
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

  export interface ReleaseJobIdFieldEvent {
    field: '$.jobId'
    value: string
  }

  export interface ReleaseLeaseIdFieldEvent {
    field: '$.leaseId'
    value: string
  }

  export interface ReleaseReasonFieldEvent {
    field: '$.reason'
    value: string
  }

  export function encode (obj: Partial<Release>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Release.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Release>): Release {
    return decodeMessage(buf, Release.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Release>): Generator<ReleaseJobIdFieldEvent | ReleaseLeaseIdFieldEvent | ReleaseReasonFieldEvent> {
    return streamMessage(buf, Release.codec(), opts)
  }
}

export interface Cancel {
  jobId: string
  leaseId: string
  reason: string
}

export namespace Cancel {
  let _codec: Codec<Cancel>

  export const codec = (): Codec<Cancel> => {
    if (_codec == null) {
      _codec = message<Cancel>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.jobId != null && obj.jobId !== '')) {
          w.uint32(10)
          w.string(obj.jobId)
        }

        if ((obj.leaseId != null && obj.leaseId !== '')) {
          w.uint32(18)
          w.string(obj.leaseId)
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
          jobId: '',
          leaseId: '',
          reason: ''
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
              obj.leaseId = reader.string()
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
                field: `${prefix}.jobId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.leaseId`,
                value: reader.string()
              }
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

  export interface CancelJobIdFieldEvent {
    field: '$.jobId'
    value: string
  }

  export interface CancelLeaseIdFieldEvent {
    field: '$.leaseId'
    value: string
  }

  export interface CancelReasonFieldEvent {
    field: '$.reason'
    value: string
  }

  export function encode (obj: Partial<Cancel>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Cancel.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Cancel>): Cancel {
    return decodeMessage(buf, Cancel.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Cancel>): Generator<CancelJobIdFieldEvent | CancelLeaseIdFieldEvent | CancelReasonFieldEvent> {
    return streamMessage(buf, Cancel.codec(), opts)
  }
}

export interface Complete {
  jobId: string
  leaseId: string
  result: Uint8Array<ArrayBuffer>
  computeMs: number
}

export namespace Complete {
  let _codec: Codec<Complete>

  export const codec = (): Codec<Complete> => {
    if (_codec == null) {
      _codec = message<Complete>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.jobId != null && obj.jobId !== '')) {
          w.uint32(10)
          w.string(obj.jobId)
        }

        if ((obj.leaseId != null && obj.leaseId !== '')) {
          w.uint32(18)
          w.string(obj.leaseId)
        }

        if ((obj.result != null && obj.result.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.result)
        }

        if ((obj.computeMs != null && obj.computeMs !== 0)) {
          w.uint32(32)
          w.uint32(obj.computeMs)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          jobId: '',
          leaseId: '',
          result: uint8ArrayAlloc(0),
          computeMs: 0
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
              obj.leaseId = reader.string()
              break
            }
            case 3: {
              obj.result = reader.bytes()
              break
            }
            case 4: {
              obj.computeMs = reader.uint32()
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
                field: `${prefix}.leaseId`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.result`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.computeMs`,
                value: reader.uint32()
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

  export interface CompleteJobIdFieldEvent {
    field: '$.jobId'
    value: string
  }

  export interface CompleteLeaseIdFieldEvent {
    field: '$.leaseId'
    value: string
  }

  export interface CompleteResultFieldEvent {
    field: '$.result'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CompleteComputeMsFieldEvent {
    field: '$.computeMs'
    value: number
  }

  export function encode (obj: Partial<Complete>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Complete.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Complete>): Complete {
    return decodeMessage(buf, Complete.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Complete>): Generator<CompleteJobIdFieldEvent | CompleteLeaseIdFieldEvent | CompleteResultFieldEvent | CompleteComputeMsFieldEvent> {
    return streamMessage(buf, Complete.codec(), opts)
  }
}

export interface NoBid {
  jobId: string
  round: number
  code: string
  message: string
  askPricePerUnit?: number
}

export namespace NoBid {
  let _codec: Codec<NoBid>

  export const codec = (): Codec<NoBid> => {
    if (_codec == null) {
      _codec = message<NoBid>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.jobId != null && obj.jobId !== '')) {
          w.uint32(10)
          w.string(obj.jobId)
        }

        if ((obj.round != null && obj.round !== 0)) {
          w.uint32(16)
          w.uint32(obj.round)
        }

        if ((obj.code != null && obj.code !== '')) {
          w.uint32(26)
          w.string(obj.code)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(34)
          w.string(obj.message)
        }

        if (obj.askPricePerUnit != null) {
          w.uint32(41)
          w.double(obj.askPricePerUnit)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          jobId: '',
          round: 0,
          code: '',
          message: ''
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
              obj.round = reader.uint32()
              break
            }
            case 3: {
              obj.code = reader.string()
              break
            }
            case 4: {
              obj.message = reader.string()
              break
            }
            case 5: {
              obj.askPricePerUnit = reader.double()
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
                field: `${prefix}.round`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.code`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.message`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.askPricePerUnit`,
                value: reader.double()
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

  export interface NoBidJobIdFieldEvent {
    field: '$.jobId'
    value: string
  }

  export interface NoBidRoundFieldEvent {
    field: '$.round'
    value: number
  }

  export interface NoBidCodeFieldEvent {
    field: '$.code'
    value: string
  }

  export interface NoBidMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export interface NoBidAskPricePerUnitFieldEvent {
    field: '$.askPricePerUnit'
    value: number
  }

  export function encode (obj: Partial<NoBid>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, NoBid.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<NoBid>): NoBid {
    return decodeMessage(buf, NoBid.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<NoBid>): Generator<NoBidJobIdFieldEvent | NoBidRoundFieldEvent | NoBidCodeFieldEvent | NoBidMessageFieldEvent | NoBidAskPricePerUnitFieldEvent> {
    return streamMessage(buf, NoBid.codec(), opts)
  }
}

export interface Ack {
  ok: boolean
  code: string
}

export namespace Ack {
  let _codec: Codec<Ack>

  export const codec = (): Codec<Ack> => {
    if (_codec == null) {
      _codec = message<Ack>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.ok != null && obj.ok !== false)) {
          w.uint32(8)
          w.bool(obj.ok)
        }

        if ((obj.code != null && obj.code !== '')) {
          w.uint32(18)
          w.string(obj.code)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          ok: false,
          code: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.ok = reader.bool()
              break
            }
            case 2: {
              obj.code = reader.string()
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
                field: `${prefix}.ok`,
                value: reader.bool()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.code`,
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

  export interface AckOkFieldEvent {
    field: '$.ok'
    value: boolean
  }

  export interface AckCodeFieldEvent {
    field: '$.code'
    value: string
  }

  export function encode (obj: Partial<Ack>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Ack.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Ack>): Ack {
    return decodeMessage(buf, Ack.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Ack>): Generator<AckOkFieldEvent | AckCodeFieldEvent> {
    return streamMessage(buf, Ack.codec(), opts)
  }
}

export interface MarketMessage {
  issuedAt: bigint
  expiresAt: bigint
  nonce: Uint8Array<ArrayBuffer>
  certificate: Uint8Array<ArrayBuffer>
  offer?: JobOffer
  bid?: Bid
  award?: Award
  accept?: Accept
  decline?: Decline
  heartbeat?: Heartbeat
  release?: Release
  cancel?: Cancel
  complete?: Complete
  ack?: Ack
  noBid?: NoBid
}

export namespace MarketMessage {
  let _codec: Codec<MarketMessage>

  export const codec = (): Codec<MarketMessage> => {
    if (_codec == null) {
      _codec = message<MarketMessage>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.issuedAt != null && obj.issuedAt !== 0n)) {
          w.uint32(8)
          w.uint64(obj.issuedAt)
        }

        if ((obj.expiresAt != null && obj.expiresAt !== 0n)) {
          w.uint32(16)
          w.uint64(obj.expiresAt)
        }

        if ((obj.nonce != null && obj.nonce.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.nonce)
        }

        if ((obj.certificate != null && obj.certificate.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.certificate)
        }

        if (obj.offer != null) {
          w.uint32(82)
          JobOffer.codec().encode(obj.offer, w)
        }

        if (obj.bid != null) {
          w.uint32(90)
          Bid.codec().encode(obj.bid, w)
        }

        if (obj.award != null) {
          w.uint32(98)
          Award.codec().encode(obj.award, w)
        }

        if (obj.accept != null) {
          w.uint32(106)
          Accept.codec().encode(obj.accept, w)
        }

        if (obj.decline != null) {
          w.uint32(114)
          Decline.codec().encode(obj.decline, w)
        }

        if (obj.heartbeat != null) {
          w.uint32(122)
          Heartbeat.codec().encode(obj.heartbeat, w)
        }

        if (obj.release != null) {
          w.uint32(130)
          Release.codec().encode(obj.release, w)
        }

        if (obj.cancel != null) {
          w.uint32(138)
          Cancel.codec().encode(obj.cancel, w)
        }

        if (obj.complete != null) {
          w.uint32(146)
          Complete.codec().encode(obj.complete, w)
        }

        if (obj.ack != null) {
          w.uint32(154)
          Ack.codec().encode(obj.ack, w)
        }

        if (obj.noBid != null) {
          w.uint32(162)
          NoBid.codec().encode(obj.noBid, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          issuedAt: 0n,
          expiresAt: 0n,
          nonce: uint8ArrayAlloc(0),
          certificate: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.issuedAt = reader.uint64()
              break
            }
            case 2: {
              obj.expiresAt = reader.uint64()
              break
            }
            case 3: {
              obj.nonce = reader.bytes()
              break
            }
            case 4: {
              obj.certificate = reader.bytes()
              break
            }
            case 10: {
              obj.offer = JobOffer.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.offer
              })
              break
            }
            case 11: {
              obj.bid = Bid.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.bid
              })
              break
            }
            case 12: {
              obj.award = Award.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.award
              })
              break
            }
            case 13: {
              obj.accept = Accept.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.accept
              })
              break
            }
            case 14: {
              obj.decline = Decline.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.decline
              })
              break
            }
            case 15: {
              obj.heartbeat = Heartbeat.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.heartbeat
              })
              break
            }
            case 16: {
              obj.release = Release.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.release
              })
              break
            }
            case 17: {
              obj.cancel = Cancel.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.cancel
              })
              break
            }
            case 18: {
              obj.complete = Complete.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.complete
              })
              break
            }
            case 19: {
              obj.ack = Ack.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.ack
              })
              break
            }
            case 20: {
              obj.noBid = NoBid.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.noBid
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
              yield {
                field: `${prefix}.issuedAt`,
                value: reader.uint64()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.expiresAt`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.nonce`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.certificate`,
                value: reader.bytes()
              }
              break
            }
            case 10: {
              yield * JobOffer.codec().stream(reader, reader.uint32(), `${prefix}.offer`, {
                limits: opts.limits?.offer
              })

              break
            }
            case 11: {
              yield * Bid.codec().stream(reader, reader.uint32(), `${prefix}.bid`, {
                limits: opts.limits?.bid
              })

              break
            }
            case 12: {
              yield * Award.codec().stream(reader, reader.uint32(), `${prefix}.award`, {
                limits: opts.limits?.award
              })

              break
            }
            case 13: {
              yield * Accept.codec().stream(reader, reader.uint32(), `${prefix}.accept`, {
                limits: opts.limits?.accept
              })

              break
            }
            case 14: {
              yield * Decline.codec().stream(reader, reader.uint32(), `${prefix}.decline`, {
                limits: opts.limits?.decline
              })

              break
            }
            case 15: {
              yield * Heartbeat.codec().stream(reader, reader.uint32(), `${prefix}.heartbeat`, {
                limits: opts.limits?.heartbeat
              })

              break
            }
            case 16: {
              yield * Release.codec().stream(reader, reader.uint32(), `${prefix}.release`, {
                limits: opts.limits?.release
              })

              break
            }
            case 17: {
              yield * Cancel.codec().stream(reader, reader.uint32(), `${prefix}.cancel`, {
                limits: opts.limits?.cancel
              })

              break
            }
            case 18: {
              yield * Complete.codec().stream(reader, reader.uint32(), `${prefix}.complete`, {
                limits: opts.limits?.complete
              })

              break
            }
            case 19: {
              yield * Ack.codec().stream(reader, reader.uint32(), `${prefix}.ack`, {
                limits: opts.limits?.ack
              })

              break
            }
            case 20: {
              yield * NoBid.codec().stream(reader, reader.uint32(), `${prefix}.noBid`, {
                limits: opts.limits?.noBid
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

  export interface MarketMessageIssuedAtFieldEvent {
    field: '$.issuedAt'
    value: bigint
  }

  export interface MarketMessageExpiresAtFieldEvent {
    field: '$.expiresAt'
    value: bigint
  }

  export interface MarketMessageNonceFieldEvent {
    field: '$.nonce'
    value: Uint8Array<ArrayBuffer>
  }

  export interface MarketMessageCertificateFieldEvent {
    field: '$.certificate'
    value: Uint8Array<ArrayBuffer>
  }

  export interface MarketMessageOfferJobIdFieldEvent {
    field: '$.offer.jobId'
    value: string
  }

  export interface MarketMessageOfferRequesterFieldEvent {
    field: '$.offer.requester'
    value: Uint8Array<ArrayBuffer>
  }

  export interface MarketMessageOfferModelCidFieldEvent {
    field: '$.offer.modelCid'
    value: string
  }

  export interface MarketMessageOfferModeFieldEvent {
    field: '$.offer.mode'
    value: JobMode
  }

  export interface MarketMessageOfferShardUnitsFieldEvent {
    field: '$.offer.shardUnits[]'
    index: number
    value: bigint
  }

  export interface MarketMessageOfferMaxPricePerUnitFieldEvent {
    field: '$.offer.maxPricePerUnit'
    value: number
  }

  export interface MarketMessageOfferDeadlineFieldEvent {
    field: '$.offer.deadline'
    value: bigint
  }

  export interface MarketMessageOfferRedundancyFieldEvent {
    field: '$.offer.redundancy'
    value: number
  }

  export interface MarketMessageOfferMinReputationFieldEvent {
    field: '$.offer.minReputation'
    value: number
  }

  export interface MarketMessageOfferRegionFieldEvent {
    field: '$.offer.region'
    value: string
  }

  export interface MarketMessageOfferRoundFieldEvent {
    field: '$.offer.round'
    value: number
  }

  export interface MarketMessageOfferOpenShardsFieldEvent {
    field: '$.offer.openShards[]'
    index: number
    value: number
  }

  export interface MarketMessageOfferBidWindowMsFieldEvent {
    field: '$.offer.bidWindowMs'
    value: number
  }

  export interface MarketMessageOfferModelBytesFieldEvent {
    field: '$.offer.modelBytes'
    value: bigint
  }

  export interface MarketMessageOfferMaxFrameBytesFieldEvent {
    field: '$.offer.maxFrameBytes'
    value: bigint
  }

  export interface MarketMessageOfferInputsNameFieldEvent {
    field: '$.offer.inputs[].name'
    value: string
    index: number
  }

  export interface MarketMessageOfferInputsDtypeFieldEvent {
    field: '$.offer.inputs[].dtype'
    value: string
    index: number
  }

  export interface MarketMessageOfferInputsDimsFieldEvent {
    field: '$.offer.inputs[].dims[]'
    index: number
    value: number
  }

  export interface MarketMessageOfferJurisdictionFieldEvent {
    field: '$.offer.jurisdiction'
    value: string
  }

  export interface MarketMessageOfferSessionFieldEvent {
    field: '$.offer.session'
    value: boolean
  }

  export interface MarketMessageOfferBidsWantedFieldEvent {
    field: '$.offer.bidsWanted'
    value: number
  }

  export interface MarketMessageOfferRegionWorkersFieldEvent {
    field: '$.offer.regionWorkers'
    value: number
  }

  export interface MarketMessageBidJobIdFieldEvent {
    field: '$.bid.jobId'
    value: string
  }

  export interface MarketMessageBidBidderFieldEvent {
    field: '$.bid.bidder'
    value: Uint8Array<ArrayBuffer>
  }

  export interface MarketMessageBidPricePerUnitFieldEvent {
    field: '$.bid.pricePerUnit'
    value: number
  }

  export interface MarketMessageBidMsPerUnitFieldEvent {
    field: '$.bid.msPerUnit'
    value: number
  }

  export interface MarketMessageBidSetupMsFieldEvent {
    field: '$.bid.setupMs'
    value: number
  }

  export interface MarketMessageBidCapacityFieldEvent {
    field: '$.bid.capacity'
    value: number
  }

  export interface MarketMessageBidModelCachedFieldEvent {
    field: '$.bid.modelCached'
    value: boolean
  }

  export interface MarketMessageBidRoleFieldEvent {
    field: '$.bid.role'
    value: BidderRole
  }

  export interface MarketMessageBidRoundFieldEvent {
    field: '$.bid.round'
    value: number
  }

  export interface MarketMessageBidAddrsFieldEvent {
    field: '$.bid.addrs[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface MarketMessageAwardJobIdFieldEvent {
    field: '$.award.jobId'
    value: string
  }

  export interface MarketMessageAwardLeaseIdFieldEvent {
    field: '$.award.leaseId'
    value: string
  }

  export interface MarketMessageAwardShardIndexFieldEvent {
    field: '$.award.shardIndex'
    value: number
  }

  export interface MarketMessageAwardReplicaFieldEvent {
    field: '$.award.replica'
    value: number
  }

  export interface MarketMessageAwardUnitsFieldEvent {
    field: '$.award.units'
    value: bigint
  }

  export interface MarketMessageAwardPricePerUnitFieldEvent {
    field: '$.award.pricePerUnit'
    value: number
  }

  export interface MarketMessageAwardLeaseTimeoutMsFieldEvent {
    field: '$.award.leaseTimeoutMs'
    value: number
  }

  export interface MarketMessageAwardDeadlineFieldEvent {
    field: '$.award.deadline'
    value: bigint
  }

  export interface MarketMessageAwardModelCidFieldEvent {
    field: '$.award.modelCid'
    value: string
  }

  export interface MarketMessageAwardModeFieldEvent {
    field: '$.award.mode'
    value: JobMode
  }

  export interface MarketMessageAwardShardCountFieldEvent {
    field: '$.award.shardCount'
    value: number
  }

  export interface MarketMessageAcceptJobIdFieldEvent {
    field: '$.accept.jobId'
    value: string
  }

  export interface MarketMessageAcceptLeaseIdFieldEvent {
    field: '$.accept.leaseId'
    value: string
  }

  export interface MarketMessageDeclineJobIdFieldEvent {
    field: '$.decline.jobId'
    value: string
  }

  export interface MarketMessageDeclineLeaseIdFieldEvent {
    field: '$.decline.leaseId'
    value: string
  }

  export interface MarketMessageDeclineReasonFieldEvent {
    field: '$.decline.reason'
    value: string
  }

  export interface MarketMessageHeartbeatLeaseIdsFieldEvent {
    field: '$.heartbeat.leaseIds[]'
    index: number
    value: string
  }

  export interface MarketMessageReleaseJobIdFieldEvent {
    field: '$.release.jobId'
    value: string
  }

  export interface MarketMessageReleaseLeaseIdFieldEvent {
    field: '$.release.leaseId'
    value: string
  }

  export interface MarketMessageReleaseReasonFieldEvent {
    field: '$.release.reason'
    value: string
  }

  export interface MarketMessageCancelJobIdFieldEvent {
    field: '$.cancel.jobId'
    value: string
  }

  export interface MarketMessageCancelLeaseIdFieldEvent {
    field: '$.cancel.leaseId'
    value: string
  }

  export interface MarketMessageCancelReasonFieldEvent {
    field: '$.cancel.reason'
    value: string
  }

  export interface MarketMessageCompleteJobIdFieldEvent {
    field: '$.complete.jobId'
    value: string
  }

  export interface MarketMessageCompleteLeaseIdFieldEvent {
    field: '$.complete.leaseId'
    value: string
  }

  export interface MarketMessageCompleteResultFieldEvent {
    field: '$.complete.result'
    value: Uint8Array<ArrayBuffer>
  }

  export interface MarketMessageCompleteComputeMsFieldEvent {
    field: '$.complete.computeMs'
    value: number
  }

  export interface MarketMessageAckOkFieldEvent {
    field: '$.ack.ok'
    value: boolean
  }

  export interface MarketMessageAckCodeFieldEvent {
    field: '$.ack.code'
    value: string
  }

  export interface MarketMessageNoBidJobIdFieldEvent {
    field: '$.noBid.jobId'
    value: string
  }

  export interface MarketMessageNoBidRoundFieldEvent {
    field: '$.noBid.round'
    value: number
  }

  export interface MarketMessageNoBidCodeFieldEvent {
    field: '$.noBid.code'
    value: string
  }

  export interface MarketMessageNoBidMessageFieldEvent {
    field: '$.noBid.message'
    value: string
  }

  export interface MarketMessageNoBidAskPricePerUnitFieldEvent {
    field: '$.noBid.askPricePerUnit'
    value: number
  }

  export function encode (obj: Partial<MarketMessage>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, MarketMessage.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MarketMessage>): MarketMessage {
    return decodeMessage(buf, MarketMessage.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MarketMessage>): Generator<MarketMessageIssuedAtFieldEvent | MarketMessageExpiresAtFieldEvent | MarketMessageNonceFieldEvent | MarketMessageCertificateFieldEvent | MarketMessageOfferJobIdFieldEvent | MarketMessageOfferRequesterFieldEvent | MarketMessageOfferModelCidFieldEvent | MarketMessageOfferModeFieldEvent | MarketMessageOfferShardUnitsFieldEvent | MarketMessageOfferMaxPricePerUnitFieldEvent | MarketMessageOfferDeadlineFieldEvent | MarketMessageOfferRedundancyFieldEvent | MarketMessageOfferMinReputationFieldEvent | MarketMessageOfferRegionFieldEvent | MarketMessageOfferRoundFieldEvent | MarketMessageOfferOpenShardsFieldEvent | MarketMessageOfferBidWindowMsFieldEvent | MarketMessageOfferModelBytesFieldEvent | MarketMessageOfferMaxFrameBytesFieldEvent | MarketMessageOfferInputsNameFieldEvent | MarketMessageOfferInputsDtypeFieldEvent | MarketMessageOfferInputsDimsFieldEvent | MarketMessageOfferJurisdictionFieldEvent | MarketMessageOfferSessionFieldEvent | MarketMessageOfferBidsWantedFieldEvent | MarketMessageOfferRegionWorkersFieldEvent | MarketMessageBidJobIdFieldEvent | MarketMessageBidBidderFieldEvent | MarketMessageBidPricePerUnitFieldEvent | MarketMessageBidMsPerUnitFieldEvent | MarketMessageBidSetupMsFieldEvent | MarketMessageBidCapacityFieldEvent | MarketMessageBidModelCachedFieldEvent | MarketMessageBidRoleFieldEvent | MarketMessageBidRoundFieldEvent | MarketMessageBidAddrsFieldEvent | MarketMessageAwardJobIdFieldEvent | MarketMessageAwardLeaseIdFieldEvent | MarketMessageAwardShardIndexFieldEvent | MarketMessageAwardReplicaFieldEvent | MarketMessageAwardUnitsFieldEvent | MarketMessageAwardPricePerUnitFieldEvent | MarketMessageAwardLeaseTimeoutMsFieldEvent | MarketMessageAwardDeadlineFieldEvent | MarketMessageAwardModelCidFieldEvent | MarketMessageAwardModeFieldEvent | MarketMessageAwardShardCountFieldEvent | MarketMessageAcceptJobIdFieldEvent | MarketMessageAcceptLeaseIdFieldEvent | MarketMessageDeclineJobIdFieldEvent | MarketMessageDeclineLeaseIdFieldEvent | MarketMessageDeclineReasonFieldEvent | MarketMessageHeartbeatLeaseIdsFieldEvent | MarketMessageReleaseJobIdFieldEvent | MarketMessageReleaseLeaseIdFieldEvent | MarketMessageReleaseReasonFieldEvent | MarketMessageCancelJobIdFieldEvent | MarketMessageCancelLeaseIdFieldEvent | MarketMessageCancelReasonFieldEvent | MarketMessageCompleteJobIdFieldEvent | MarketMessageCompleteLeaseIdFieldEvent | MarketMessageCompleteResultFieldEvent | MarketMessageCompleteComputeMsFieldEvent | MarketMessageAckOkFieldEvent | MarketMessageAckCodeFieldEvent | MarketMessageNoBidJobIdFieldEvent | MarketMessageNoBidRoundFieldEvent | MarketMessageNoBidCodeFieldEvent | MarketMessageNoBidMessageFieldEvent | MarketMessageNoBidAskPricePerUnitFieldEvent> {
    return streamMessage(buf, MarketMessage.codec(), opts)
  }
}
