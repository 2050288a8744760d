/* eslint-disable require-yield */

import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface InferOpen {
  jobId: string
  leaseId: string
  modelCid: string
  kind: string
  stage: number
  stageCount: number
  source: Uint8Array<ArrayBuffer>
  next: Uint8Array<ArrayBuffer>
  nextAddrs: string[]
  nextLeaseId: string
  constants: Uint8Array<ArrayBuffer>
  fromRequester: string[]
  jobItems: number
  session?: InferSessionStage
}

export namespace InferOpen {
  let _codec: Codec<InferOpen>

  export const codec = (): Codec<InferOpen> => {
    if (_codec == null) {
      _codec = message<InferOpen>((obj, w, opts = {}) => {
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

        if ((obj.modelCid != null && obj.modelCid !== '')) {
          w.uint32(26)
          w.string(obj.modelCid)
        }

        if ((obj.kind != null && obj.kind !== '')) {
          w.uint32(34)
          w.string(obj.kind)
        }

        if ((obj.stage != null && obj.stage !== 0)) {
          w.uint32(40)
          w.uint32(obj.stage)
        }

        if ((obj.stageCount != null && obj.stageCount !== 0)) {
          w.uint32(48)
          w.uint32(obj.stageCount)
        }

        if ((obj.source != null && obj.source.byteLength > 0)) {
          w.uint32(58)
          w.bytes(obj.source)
        }

        if ((obj.next != null && obj.next.byteLength > 0)) {
          w.uint32(66)
          w.bytes(obj.next)
        }

        if (obj.nextAddrs != null && obj.nextAddrs.length > 0) {
          for (const value of obj.nextAddrs) {
            w.uint32(74)
            w.string(value)
          }
        }

        if ((obj.nextLeaseId != null && obj.nextLeaseId !== '')) {
          w.uint32(82)
          w.string(obj.nextLeaseId)
        }

        if ((obj.constants != null && obj.constants.byteLength > 0)) {
          w.uint32(90)
          w.bytes(obj.constants)
        }

        if (obj.fromRequester != null && obj.fromRequester.length > 0) {
          for (const value of obj.fromRequester) {
            w.uint32(98)
            w.string(value)
          }
        }

        if ((obj.jobItems != null && obj.jobItems !== 0)) {
          w.uint32(112)
          w.uint32(obj.jobItems)
        }

        if (obj.session != null) {
          w.uint32(106)
          InferSessionStage.codec().encode(obj.session, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          jobId: '',
          leaseId: '',
          modelCid: '',
          kind: '',
          stage: 0,
          stageCount: 0,
          source: uint8ArrayAlloc(0),
          next: uint8ArrayAlloc(0),
          nextAddrs: [],
          nextLeaseId: '',
          constants: uint8ArrayAlloc(0),
          fromRequester: [],
          jobItems: 0
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
              obj.modelCid = reader.string()
              break
            }
            case 4: {
              obj.kind = reader.string()
              break
            }
            case 5: {
              obj.stage = reader.uint32()
              break
            }
            case 6: {
              obj.stageCount = reader.uint32()
              break
            }
            case 7: {
              obj.source = reader.bytes()
              break
            }
            case 8: {
              obj.next = reader.bytes()
              break
            }
            case 9: {
              if (opts.limits?.nextAddrs != null && obj.nextAddrs.length === opts.limits.nextAddrs) {
                throw new MaxLengthError('Decode error - repeated field "nextAddrs" had too many elements')
              }

              obj.nextAddrs.push(reader.string())
              break
            }
            case 10: {
              obj.nextLeaseId = reader.string()
              break
            }
            case 11: {
              obj.constants = reader.bytes()
              break
            }
            case 12: {
              if (opts.limits?.fromRequester != null && obj.fromRequester.length === opts.limits.fromRequester) {
                throw new MaxLengthError('Decode error - repeated field "fromRequester" had too many elements')
              }

              obj.fromRequester.push(reader.string())
              break
            }
            case 14: {
              obj.jobItems = reader.uint32()
              break
            }
            case 13: {
              obj.session = InferSessionStage.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.session
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
        const obj = {
          nextAddrs: 0,
          fromRequester: 0
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
                field: `${prefix}.leaseId`,
                value: reader.string()
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
                field: `${prefix}.kind`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.stage`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.stageCount`,
                value: reader.uint32()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.source`,
                value: reader.bytes()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.next`,
                value: reader.bytes()
              }
              break
            }
            case 9: {
              if (opts.limits?.nextAddrs != null && obj.nextAddrs === opts.limits.nextAddrs) {
                throw new MaxLengthError('Streaming decode error - repeated field "nextAddrs" had too many elements')
              }

              yield {
                field: `${prefix}.nextAddrs[]`,
                index: obj.nextAddrs,
                value: reader.string()
              }

              obj.nextAddrs++

              break
            }
            case 10: {
              yield {
                field: `${prefix}.nextLeaseId`,
                value: reader.string()
              }
              break
            }
            case 11: {
              yield {
                field: `${prefix}.constants`,
                value: reader.bytes()
              }
              break
            }
            case 12: {
              if (opts.limits?.fromRequester != null && obj.fromRequester === opts.limits.fromRequester) {
                throw new MaxLengthError('Streaming decode error - repeated field "fromRequester" had too many elements')
              }

              yield {
                field: `${prefix}.fromRequester[]`,
                index: obj.fromRequester,
                value: reader.string()
              }

              obj.fromRequester++

              break
            }
            case 14: {
              yield {
                field: `${prefix}.jobItems`,
                value: reader.uint32()
              }
              break
            }
            case 13: {
              yield * InferSessionStage.codec().stream(reader, reader.uint32(), `${prefix}.session`, {
                limits: opts.limits?.session
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

  export interface InferOpenJobIdFieldEvent {
    field: '$.jobId'
    value: string
  }

  export interface InferOpenLeaseIdFieldEvent {
    field: '$.leaseId'
    value: string
  }

  export interface InferOpenModelCidFieldEvent {
    field: '$.modelCid'
    value: string
  }

  export interface InferOpenKindFieldEvent {
    field: '$.kind'
    value: string
  }

  export interface InferOpenStageFieldEvent {
    field: '$.stage'
    value: number
  }

  export interface InferOpenStageCountFieldEvent {
    field: '$.stageCount'
    value: number
  }

  export interface InferOpenSourceFieldEvent {
    field: '$.source'
    value: Uint8Array<ArrayBuffer>
  }

  export interface InferOpenNextFieldEvent {
    field: '$.next'
    value: Uint8Array<ArrayBuffer>
  }

  export interface InferOpenNextAddrsFieldEvent {
    field: '$.nextAddrs[]'
    index: number
    value: string
  }

  export interface InferOpenNextLeaseIdFieldEvent {
    field: '$.nextLeaseId'
    value: string
  }

  export interface InferOpenConstantsFieldEvent {
    field: '$.constants'
    value: Uint8Array<ArrayBuffer>
  }

  export interface InferOpenFromRequesterFieldEvent {
    field: '$.fromRequester[]'
    index: number
    value: string
  }

  export interface InferOpenJobItemsFieldEvent {
    field: '$.jobItems'
    value: number
  }

  export interface InferOpenSessionStateOutputFieldEvent {
    field: '$.session.state[].output'
    value: string
    index: number
  }

  export interface InferOpenSessionStateInputFieldEvent {
    field: '$.session.state[].input'
    value: string
    index: number
  }

  export interface InferOpenSessionStateFollowsFieldEvent {
    field: '$.session.stateFollows'
    value: boolean
  }

  export interface InferOpenSessionFirstStepFieldEvent {
    field: '$.session.firstStep'
    value: number
  }

  export interface InferOpenSessionSendsFieldEvent {
    field: '$.session.sends[]'
    index: number
    value: string
  }

  export function encode (obj: Partial<InferOpen>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, InferOpen.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InferOpen>): InferOpen {
    return decodeMessage(buf, InferOpen.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InferOpen>): Generator<InferOpenJobIdFieldEvent | InferOpenLeaseIdFieldEvent | InferOpenModelCidFieldEvent | InferOpenKindFieldEvent | InferOpenStageFieldEvent | InferOpenStageCountFieldEvent | InferOpenSourceFieldEvent | InferOpenNextFieldEvent | InferOpenNextAddrsFieldEvent | InferOpenNextLeaseIdFieldEvent | InferOpenConstantsFieldEvent | InferOpenFromRequesterFieldEvent | InferOpenJobItemsFieldEvent | InferOpenSessionStateOutputFieldEvent | InferOpenSessionStateInputFieldEvent | InferOpenSessionStateFollowsFieldEvent | InferOpenSessionFirstStepFieldEvent | InferOpenSessionSendsFieldEvent> {
    return streamMessage(buf, InferOpen.codec(), opts)
  }
}

export interface InferSessionStage {
  state: StatePair[]
  stateFollows: boolean
  firstStep: number
  sends: string[]
}

export namespace InferSessionStage {
  let _codec: Codec<InferSessionStage>

  export const codec = (): Codec<InferSessionStage> => {
    if (_codec == null) {
      _codec = message<InferSessionStage>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.state != null && obj.state.length > 0) {
          for (const value of obj.state) {
            w.uint32(10)
            StatePair.codec().encode(value, w)
          }
        }

        if ((obj.stateFollows != null && obj.stateFollows !== false)) {
          w.uint32(16)
          w.bool(obj.stateFollows)
        }

        if ((obj.firstStep != null && obj.firstStep !== 0)) {
          w.uint32(24)
          w.uint32(obj.firstStep)
        }

        if (obj.sends != null && obj.sends.length > 0) {
          for (const value of obj.sends) {
            w.uint32(34)
            w.string(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          state: [],
          stateFollows: false,
          firstStep: 0,
          sends: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.state != null && obj.state.length === opts.limits.state) {
                throw new MaxLengthError('Decode error - repeated field "state" had too many elements')
              }

              obj.state.push(StatePair.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.state$
              }))
              break
            }
            case 2: {
              obj.stateFollows = reader.bool()
              break
            }
            case 3: {
              obj.firstStep = reader.uint32()
              break
            }
            case 4: {
              if (opts.limits?.sends != null && obj.sends.length === opts.limits.sends) {
                throw new MaxLengthError('Decode error - repeated field "sends" had too many elements')
              }

              obj.sends.push(reader.string())
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
          state: 0,
          sends: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.state != null && obj.state === opts.limits.state) {
                throw new MaxLengthError('Streaming decode error - repeated field "state" had too many elements')
              }

              for (const evt of StatePair.codec().stream(reader, reader.uint32(), `${prefix}.state[]`, {
                limits: opts.limits?.state$
              })) {
                yield {
                  ...evt,
                  index: obj.state
                }
              }

              obj.state++

              break
            }
            case 2: {
              yield {
                field: `${prefix}.stateFollows`,
                value: reader.bool()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.firstStep`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              if (opts.limits?.sends != null && obj.sends === opts.limits.sends) {
                throw new MaxLengthError('Streaming decode error - repeated field "sends" had too many elements')
              }

              yield {
                field: `${prefix}.sends[]`,
                index: obj.sends,
                value: reader.string()
              }

              obj.sends++

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

  export interface InferSessionStageStateOutputFieldEvent {
    field: '$.state[].output'
    value: string
    index: number
  }

  export interface InferSessionStageStateInputFieldEvent {
    field: '$.state[].input'
    value: string
    index: number
  }

  export interface InferSessionStageStateFollowsFieldEvent {
    field: '$.stateFollows'
    value: boolean
  }

  export interface InferSessionStageFirstStepFieldEvent {
    field: '$.firstStep'
    value: number
  }

  export interface InferSessionStageSendsFieldEvent {
    field: '$.sends[]'
    index: number
    value: string
  }

  export function encode (obj: Partial<InferSessionStage>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, InferSessionStage.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InferSessionStage>): InferSessionStage {
    return decodeMessage(buf, InferSessionStage.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InferSessionStage>): Generator<InferSessionStageStateOutputFieldEvent | InferSessionStageStateInputFieldEvent | InferSessionStageStateFollowsFieldEvent | InferSessionStageFirstStepFieldEvent | InferSessionStageSendsFieldEvent> {
    return streamMessage(buf, InferSessionStage.codec(), opts)
  }
}

export interface StatePair {
  output: string
  input: string
}

export namespace StatePair {
  let _codec: Codec<StatePair>

  export const codec = (): Codec<StatePair> => {
    if (_codec == null) {
      _codec = message<StatePair>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.output != null && obj.output !== '')) {
          w.uint32(10)
          w.string(obj.output)
        }

        if ((obj.input != null && obj.input !== '')) {
          w.uint32(18)
          w.string(obj.input)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          output: '',
          input: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.output = reader.string()
              break
            }
            case 2: {
              obj.input = reader.string()
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
                field: `${prefix}.output`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.input`,
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

  export interface StatePairOutputFieldEvent {
    field: '$.output'
    value: string
  }

  export interface StatePairInputFieldEvent {
    field: '$.input'
    value: string
  }

  export function encode (obj: Partial<StatePair>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, StatePair.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<StatePair>): StatePair {
    return decodeMessage(buf, StatePair.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<StatePair>): Generator<StatePairOutputFieldEvent | StatePairInputFieldEvent> {
    return streamMessage(buf, StatePair.codec(), opts)
  }
}

export interface InferData {
  seq: number
  tensors: Uint8Array<ArrayBuffer>
  more: boolean
  items: number
  snapshot?: boolean
  stageComputeMs: number[]
}

export namespace InferData {
  let _codec: Codec<InferData>

  export const codec = (): Codec<InferData> => {
    if (_codec == null) {
      _codec = message<InferData>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.seq != null && obj.seq !== 0)) {
          w.uint32(8)
          w.uint32(obj.seq)
        }

        if ((obj.tensors != null && obj.tensors.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.tensors)
        }

        if ((obj.more != null && obj.more !== false)) {
          w.uint32(24)
          w.bool(obj.more)
        }

        if ((obj.items != null && obj.items !== 0)) {
          w.uint32(32)
          w.uint32(obj.items)
        }

        if (obj.snapshot != null) {
          w.uint32(40)
          w.bool(obj.snapshot)
        }

        if (obj.stageComputeMs != null && obj.stageComputeMs.length > 0) {
          for (const value of obj.stageComputeMs) {
            w.uint32(49)
            w.double(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          seq: 0,
          tensors: uint8ArrayAlloc(0),
          more: false,
          items: 0,
          stageComputeMs: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.seq = reader.uint32()
              break
            }
            case 2: {
              obj.tensors = reader.bytes()
              break
            }
            case 3: {
              obj.more = reader.bool()
              break
            }
            case 4: {
              obj.items = reader.uint32()
              break
            }
            case 5: {
              obj.snapshot = reader.bool()
              break
            }
            case 6: {
              if (opts.limits?.stageComputeMs != null && obj.stageComputeMs.length === opts.limits.stageComputeMs) {
                throw new MaxLengthError('Decode error - repeated field "stageComputeMs" had too many elements')
              }

              obj.stageComputeMs.push(reader.double())
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
          stageComputeMs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.seq`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.tensors`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.more`,
                value: reader.bool()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.items`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.snapshot`,
                value: reader.bool()
              }
              break
            }
            case 6: {
              if (opts.limits?.stageComputeMs != null && obj.stageComputeMs === opts.limits.stageComputeMs) {
                throw new MaxLengthError('Streaming decode error - repeated field "stageComputeMs" had too many elements')
              }

              yield {
                field: `${prefix}.stageComputeMs[]`,
                index: obj.stageComputeMs,
                value: reader.double()
              }

              obj.stageComputeMs++

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

  export interface InferDataSeqFieldEvent {
    field: '$.seq'
    value: number
  }

  export interface InferDataTensorsFieldEvent {
    field: '$.tensors'
    value: Uint8Array<ArrayBuffer>
  }

  export interface InferDataMoreFieldEvent {
    field: '$.more'
    value: boolean
  }

  export interface InferDataItemsFieldEvent {
    field: '$.items'
    value: number
  }

  export interface InferDataSnapshotFieldEvent {
    field: '$.snapshot'
    value: boolean
  }

  export interface InferDataStageComputeMsFieldEvent {
    field: '$.stageComputeMs[]'
    index: number
    value: number
  }

  export function encode (obj: Partial<InferData>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, InferData.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InferData>): InferData {
    return decodeMessage(buf, InferData.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InferData>): Generator<InferDataSeqFieldEvent | InferDataTensorsFieldEvent | InferDataMoreFieldEvent | InferDataItemsFieldEvent | InferDataSnapshotFieldEvent | InferDataStageComputeMsFieldEvent> {
    return streamMessage(buf, InferData.codec(), opts)
  }
}

export interface InferSnapshot {
  step: number
  tensors: Uint8Array<ArrayBuffer>
}

export namespace InferSnapshot {
  let _codec: Codec<InferSnapshot>

  export const codec = (): Codec<InferSnapshot> => {
    if (_codec == null) {
      _codec = message<InferSnapshot>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.step != null && obj.step !== 0)) {
          w.uint32(8)
          w.uint32(obj.step)
        }

        if ((obj.tensors != null && obj.tensors.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.tensors)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          step: 0,
          tensors: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.step = reader.uint32()
              break
            }
            case 2: {
              obj.tensors = reader.bytes()
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
                field: `${prefix}.step`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.tensors`,
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

  export interface InferSnapshotStepFieldEvent {
    field: '$.step'
    value: number
  }

  export interface InferSnapshotTensorsFieldEvent {
    field: '$.tensors'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<InferSnapshot>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, InferSnapshot.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InferSnapshot>): InferSnapshot {
    return decodeMessage(buf, InferSnapshot.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InferSnapshot>): Generator<InferSnapshotStepFieldEvent | InferSnapshotTensorsFieldEvent> {
    return streamMessage(buf, InferSnapshot.codec(), opts)
  }
}

export interface InferResult {
  seq: number
  tensors: Uint8Array<ArrayBuffer>
  computeMs: number
  more: boolean
  receipt: Uint8Array<ArrayBuffer>
  stageComputeMs: number[]
}

export namespace InferResult {
  let _codec: Codec<InferResult>

  export const codec = (): Codec<InferResult> => {
    if (_codec == null) {
      _codec = message<InferResult>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.seq != null && obj.seq !== 0)) {
          w.uint32(8)
          w.uint32(obj.seq)
        }

        if ((obj.tensors != null && obj.tensors.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.tensors)
        }

        if ((obj.computeMs != null && obj.computeMs !== 0)) {
          w.uint32(25)
          w.double(obj.computeMs)
        }

        if ((obj.more != null && obj.more !== false)) {
          w.uint32(32)
          w.bool(obj.more)
        }

        if ((obj.receipt != null && obj.receipt.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.receipt)
        }

        if (obj.stageComputeMs != null && obj.stageComputeMs.length > 0) {
          for (const value of obj.stageComputeMs) {
            w.uint32(49)
            w.double(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          seq: 0,
          tensors: uint8ArrayAlloc(0),
          computeMs: 0,
          more: false,
          receipt: uint8ArrayAlloc(0),
          stageComputeMs: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.seq = reader.uint32()
              break
            }
            case 2: {
              obj.tensors = reader.bytes()
              break
            }
            case 3: {
              obj.computeMs = reader.double()
              break
            }
            case 4: {
              obj.more = reader.bool()
              break
            }
            case 5: {
              obj.receipt = reader.bytes()
              break
            }
            case 6: {
              if (opts.limits?.stageComputeMs != null && obj.stageComputeMs.length === opts.limits.stageComputeMs) {
                throw new MaxLengthError('Decode error - repeated field "stageComputeMs" had too many elements')
              }

              obj.stageComputeMs.push(reader.double())
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
          stageComputeMs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.seq`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.tensors`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.computeMs`,
                value: reader.double()
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
                field: `${prefix}.receipt`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              if (opts.limits?.stageComputeMs != null && obj.stageComputeMs === opts.limits.stageComputeMs) {
                throw new MaxLengthError('Streaming decode error - repeated field "stageComputeMs" had too many elements')
              }

              yield {
                field: `${prefix}.stageComputeMs[]`,
                index: obj.stageComputeMs,
                value: reader.double()
              }

              obj.stageComputeMs++

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

  export interface InferResultSeqFieldEvent {
    field: '$.seq'
    value: number
  }

  export interface InferResultTensorsFieldEvent {
    field: '$.tensors'
    value: Uint8Array<ArrayBuffer>
  }

  export interface InferResultComputeMsFieldEvent {
    field: '$.computeMs'
    value: number
  }

  export interface InferResultMoreFieldEvent {
    field: '$.more'
    value: boolean
  }

  export interface InferResultReceiptFieldEvent {
    field: '$.receipt'
    value: Uint8Array<ArrayBuffer>
  }

  export interface InferResultStageComputeMsFieldEvent {
    field: '$.stageComputeMs[]'
    index: number
    value: number
  }

  export function encode (obj: Partial<InferResult>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, InferResult.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InferResult>): InferResult {
    return decodeMessage(buf, InferResult.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InferResult>): Generator<InferResultSeqFieldEvent | InferResultTensorsFieldEvent | InferResultComputeMsFieldEvent | InferResultMoreFieldEvent | InferResultReceiptFieldEvent | InferResultStageComputeMsFieldEvent> {
    return streamMessage(buf, InferResult.codec(), opts)
  }
}

export interface InferEnd {}

export namespace InferEnd {
  let _codec: Codec<InferEnd>

  export const codec = (): Codec<InferEnd> => {
    if (_codec == null) {
      _codec = message<InferEnd>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
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

  export function encode (obj: Partial<InferEnd>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, InferEnd.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InferEnd>): InferEnd {
    return decodeMessage(buf, InferEnd.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InferEnd>): Generator<{}> {
    return streamMessage(buf, InferEnd.codec(), opts)
  }
}

export interface InferFinish {}

export namespace InferFinish {
  let _codec: Codec<InferFinish>

  export const codec = (): Codec<InferFinish> => {
    if (_codec == null) {
      _codec = message<InferFinish>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
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

  export function encode (obj: Partial<InferFinish>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, InferFinish.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InferFinish>): InferFinish {
    return decodeMessage(buf, InferFinish.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InferFinish>): Generator<{}> {
    return streamMessage(buf, InferFinish.codec(), opts)
  }
}

export interface InferError {
  code: string
  message: string
  name: string
  seq?: number
  stage?: number
  receipt?: Uint8Array<ArrayBuffer>
}

export namespace InferError {
  let _codec: Codec<InferError>

  export const codec = (): Codec<InferError> => {
    if (_codec == null) {
      _codec = message<InferError>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.code != null && obj.code !== '')) {
          w.uint32(10)
          w.string(obj.code)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(18)
          w.string(obj.message)
        }

        if ((obj.name != null && obj.name !== '')) {
          w.uint32(26)
          w.string(obj.name)
        }

        if (obj.seq != null) {
          w.uint32(32)
          w.uint32(obj.seq)
        }

        if (obj.stage != null) {
          w.uint32(40)
          w.uint32(obj.stage)
        }

        if (obj.receipt != null) {
          w.uint32(50)
          w.bytes(obj.receipt)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          code: '',
          message: '',
          name: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.code = reader.string()
              break
            }
            case 2: {
              obj.message = reader.string()
              break
            }
            case 3: {
              obj.name = reader.string()
              break
            }
            case 4: {
              obj.seq = reader.uint32()
              break
            }
            case 5: {
              obj.stage = reader.uint32()
              break
            }
            case 6: {
              obj.receipt = reader.bytes()
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
                field: `${prefix}.code`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.message`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.name`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.seq`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.stage`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.receipt`,
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

  export interface InferErrorCodeFieldEvent {
    field: '$.code'
    value: string
  }

  export interface InferErrorMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export interface InferErrorNameFieldEvent {
    field: '$.name'
    value: string
  }

  export interface InferErrorSeqFieldEvent {
    field: '$.seq'
    value: number
  }

  export interface InferErrorStageFieldEvent {
    field: '$.stage'
    value: number
  }

  export interface InferErrorReceiptFieldEvent {
    field: '$.receipt'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<InferError>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, InferError.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InferError>): InferError {
    return decodeMessage(buf, InferError.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InferError>): Generator<InferErrorCodeFieldEvent | InferErrorMessageFieldEvent | InferErrorNameFieldEvent | InferErrorSeqFieldEvent | InferErrorStageFieldEvent | InferErrorReceiptFieldEvent> {
    return streamMessage(buf, InferError.codec(), opts)
  }
}

export interface InferReady {}

export namespace InferReady {
  let _codec: Codec<InferReady>

  export const codec = (): Codec<InferReady> => {
    if (_codec == null) {
      _codec = message<InferReady>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
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

  export function encode (obj: Partial<InferReady>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, InferReady.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InferReady>): InferReady {
    return decodeMessage(buf, InferReady.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InferReady>): Generator<{}> {
    return streamMessage(buf, InferReady.codec(), opts)
  }
}

export interface InferMessage {
  open?: InferOpen
  data?: InferData
  result?: InferResult
  end?: InferEnd
  finish?: InferFinish
  error?: InferError
  ready?: InferReady
  snapshot?: InferSnapshot
}

export namespace InferMessage {
  let _codec: Codec<InferMessage>

  export const codec = (): Codec<InferMessage> => {
    if (_codec == null) {
      _codec = message<InferMessage>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.open != null) {
          w.uint32(10)
          InferOpen.codec().encode(obj.open, w)
        }

        if (obj.data != null) {
          w.uint32(18)
          InferData.codec().encode(obj.data, w)
        }

        if (obj.result != null) {
          w.uint32(26)
          InferResult.codec().encode(obj.result, w)
        }

        if (obj.end != null) {
          w.uint32(34)
          InferEnd.codec().encode(obj.end, w)
        }

        if (obj.finish != null) {
          w.uint32(42)
          InferFinish.codec().encode(obj.finish, w)
        }

        if (obj.error != null) {
          w.uint32(50)
          InferError.codec().encode(obj.error, w)
        }

        if (obj.ready != null) {
          w.uint32(58)
          InferReady.codec().encode(obj.ready, w)
        }

        if (obj.snapshot != null) {
          w.uint32(66)
          InferSnapshot.codec().encode(obj.snapshot, w)
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
              obj.open = InferOpen.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.open
              })
              break
            }
            case 2: {
              obj.data = InferData.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.data
              })
              break
            }
            case 3: {
              obj.result = InferResult.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.result
              })
              break
            }
            case 4: {
              obj.end = InferEnd.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.end
              })
              break
            }
            case 5: {
              obj.finish = InferFinish.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.finish
              })
              break
            }
            case 6: {
              obj.error = InferError.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.error
              })
              break
            }
            case 7: {
              obj.ready = InferReady.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.ready
              })
              break
            }
            case 8: {
              obj.snapshot = InferSnapshot.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.snapshot
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
              yield * InferOpen.codec().stream(reader, reader.uint32(), `${prefix}.open`, {
                limits: opts.limits?.open
              })

              break
            }
            case 2: {
              yield * InferData.codec().stream(reader, reader.uint32(), `${prefix}.data`, {
                limits: opts.limits?.data
              })

              break
            }
            case 3: {
              yield * InferResult.codec().stream(reader, reader.uint32(), `${prefix}.result`, {
                limits: opts.limits?.result
              })

              break
            }
            case 4: {
              yield * InferEnd.codec().stream(reader, reader.uint32(), `${prefix}.end`, {
                limits: opts.limits?.end
              })

              break
            }
            case 5: {
              yield * InferFinish.codec().stream(reader, reader.uint32(), `${prefix}.finish`, {
                limits: opts.limits?.finish
              })

              break
            }
            case 6: {
              yield * InferError.codec().stream(reader, reader.uint32(), `${prefix}.error`, {
                limits: opts.limits?.error
              })

              break
            }
            case 7: {
              yield * InferReady.codec().stream(reader, reader.uint32(), `${prefix}.ready`, {
                limits: opts.limits?.ready
              })

              break
            }
            case 8: {
              yield * InferSnapshot.codec().stream(reader, reader.uint32(), `${prefix}.snapshot`, {
                limits: opts.limits?.snapshot
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

  export interface InferMessageOpenJobIdFieldEvent {
    field: '$.open.jobId'
    value: string
  }

  export interface InferMessageOpenLeaseIdFieldEvent {
    field: '$.open.leaseId'
    value: string
  }

  export interface InferMessageOpenModelCidFieldEvent {
    field: '$.open.modelCid'
    value: string
  }

  export interface InferMessageOpenKindFieldEvent {
    field: '$.open.kind'
    value: string
  }

  export interface InferMessageOpenStageFieldEvent {
    field: '$.open.stage'
    value: number
  }

  export interface InferMessageOpenStageCountFieldEvent {
    field: '$.open.stageCount'
    value: number
  }

  export interface InferMessageOpenSourceFieldEvent {
    field: '$.open.source'
    value: Uint8Array<ArrayBuffer>
  }

  export interface InferMessageOpenNextFieldEvent {
    field: '$.open.next'
    value: Uint8Array<ArrayBuffer>
  }

  export interface InferMessageOpenNextAddrsFieldEvent {
    field: '$.open.nextAddrs[]'
    index: number
    value: string
  }

  export interface InferMessageOpenNextLeaseIdFieldEvent {
    field: '$.open.nextLeaseId'
    value: string
  }

  export interface InferMessageOpenConstantsFieldEvent {
    field: '$.open.constants'
    value: Uint8Array<ArrayBuffer>
  }

  export interface InferMessageOpenFromRequesterFieldEvent {
    field: '$.open.fromRequester[]'
    index: number
    value: string
  }

  export interface InferMessageOpenJobItemsFieldEvent {
    field: '$.open.jobItems'
    value: number
  }

  export interface InferMessageOpenSessionStateOutputFieldEvent {
    field: '$.open.session.state[].output'
    value: string
    index: number
  }

  export interface InferMessageOpenSessionStateInputFieldEvent {
    field: '$.open.session.state[].input'
    value: string
    index: number
  }

  export interface InferMessageOpenSessionStateFollowsFieldEvent {
    field: '$.open.session.stateFollows'
    value: boolean
  }

  export interface InferMessageOpenSessionFirstStepFieldEvent {
    field: '$.open.session.firstStep'
    value: number
  }

  export interface InferMessageOpenSessionSendsFieldEvent {
    field: '$.open.session.sends[]'
    index: number
    value: string
  }

  export interface InferMessageDataSeqFieldEvent {
    field: '$.data.seq'
    value: number
  }

  export interface InferMessageDataTensorsFieldEvent {
    field: '$.data.tensors'
    value: Uint8Array<ArrayBuffer>
  }

  export interface InferMessageDataMoreFieldEvent {
    field: '$.data.more'
    value: boolean
  }

  export interface InferMessageDataItemsFieldEvent {
    field: '$.data.items'
    value: number
  }

  export interface InferMessageDataSnapshotFieldEvent {
    field: '$.data.snapshot'
    value: boolean
  }

  export interface InferMessageDataStageComputeMsFieldEvent {
    field: '$.data.stageComputeMs[]'
    index: number
    value: number
  }

  export interface InferMessageResultSeqFieldEvent {
    field: '$.result.seq'
    value: number
  }

  export interface InferMessageResultTensorsFieldEvent {
    field: '$.result.tensors'
    value: Uint8Array<ArrayBuffer>
  }

  export interface InferMessageResultComputeMsFieldEvent {
    field: '$.result.computeMs'
    value: number
  }

  export interface InferMessageResultMoreFieldEvent {
    field: '$.result.more'
    value: boolean
  }

  export interface InferMessageResultReceiptFieldEvent {
    field: '$.result.receipt'
    value: Uint8Array<ArrayBuffer>
  }

  export interface InferMessageResultStageComputeMsFieldEvent {
    field: '$.result.stageComputeMs[]'
    index: number
    value: number
  }

  export interface InferMessageErrorCodeFieldEvent {
    field: '$.error.code'
    value: string
  }

  export interface InferMessageErrorMessageFieldEvent {
    field: '$.error.message'
    value: string
  }

  export interface InferMessageErrorNameFieldEvent {
    field: '$.error.name'
    value: string
  }

  export interface InferMessageErrorSeqFieldEvent {
    field: '$.error.seq'
    value: number
  }

  export interface InferMessageErrorStageFieldEvent {
    field: '$.error.stage'
    value: number
  }

  export interface InferMessageErrorReceiptFieldEvent {
    field: '$.error.receipt'
    value: Uint8Array<ArrayBuffer>
  }

  export interface InferMessageSnapshotStepFieldEvent {
    field: '$.snapshot.step'
    value: number
  }

  export interface InferMessageSnapshotTensorsFieldEvent {
    field: '$.snapshot.tensors'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<InferMessage>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, InferMessage.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InferMessage>): InferMessage {
    return decodeMessage(buf, InferMessage.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<InferMessage>): Generator<InferMessageOpenJobIdFieldEvent | InferMessageOpenLeaseIdFieldEvent | InferMessageOpenModelCidFieldEvent | InferMessageOpenKindFieldEvent | InferMessageOpenStageFieldEvent | InferMessageOpenStageCountFieldEvent | InferMessageOpenSourceFieldEvent | InferMessageOpenNextFieldEvent | InferMessageOpenNextAddrsFieldEvent | InferMessageOpenNextLeaseIdFieldEvent | InferMessageOpenConstantsFieldEvent | InferMessageOpenFromRequesterFieldEvent | InferMessageOpenJobItemsFieldEvent | InferMessageOpenSessionStateOutputFieldEvent | InferMessageOpenSessionStateInputFieldEvent | InferMessageOpenSessionStateFollowsFieldEvent | InferMessageOpenSessionFirstStepFieldEvent | InferMessageOpenSessionSendsFieldEvent | InferMessageDataSeqFieldEvent | InferMessageDataTensorsFieldEvent | InferMessageDataMoreFieldEvent | InferMessageDataItemsFieldEvent | InferMessageDataSnapshotFieldEvent | InferMessageDataStageComputeMsFieldEvent | InferMessageResultSeqFieldEvent | InferMessageResultTensorsFieldEvent | InferMessageResultComputeMsFieldEvent | InferMessageResultMoreFieldEvent | InferMessageResultReceiptFieldEvent | InferMessageResultStageComputeMsFieldEvent | InferMessageErrorCodeFieldEvent | InferMessageErrorMessageFieldEvent | InferMessageErrorNameFieldEvent | InferMessageErrorSeqFieldEvent | InferMessageErrorStageFieldEvent | InferMessageErrorReceiptFieldEvent | InferMessageSnapshotStepFieldEvent | InferMessageSnapshotTensorsFieldEvent> {
    return streamMessage(buf, InferMessage.codec(), opts)
  }
}
