import { randomUUID } from 'node:crypto'
import { partitionModel } from '@fleetmesh/runtime'
import { SessionError } from './errors.js'
import { MeshSession } from './session.js'
import { initialStateFor, planSessionStages, zeros } from './session-plan.js'
import type { SessionInit } from './index.js'
import type { InferenceService } from './inference.js'
import type { SessionStageModel } from './session.js'
import type { DeclaredTensor, SessionStageShape, StatePair } from './session-plan.js'
import type { TensorDType, WireTensor } from '@fleetmesh/protocol'
import type { PartitionOptions } from '@fleetmesh/runtime'

/**
 * Opens a stateful session: stores (or fetches) the model, cuts it into
 * stages that each keep their state pairs whole (`partitionModel` with the
 * state pairs), plans each stage's state and routes, leases one worker per
 * stage and waits until every stage is ready.
 *
 * @throws see {@link Inference.openSession}
 */
export async function openSession (svc: InferenceService, init: SessionInit): Promise<MeshSession> {
  const models = svc.components.models
  const K = init.stages ?? 1
  if (!Number.isInteger(K) || K < 1) throw new SessionError(`stages ${K} is not a positive integer`, { code: 'ERR_SESSION_INPUT' })
  if (!(init.maxPrice > 0)) throw new SessionError(`maxPrice ${init.maxPrice} is not a positive number of credits per unit`, { code: 'ERR_SESSION_INPUT' })
  const entry = typeof init.model === 'string' ? await models.fetch(init.model, { signal: init.signal }) : await models.add(init.model)
  const names = entry.info.inputs.map(i => i.name)
  let shapes: Array<SessionStageShape & { cid: string, bytes: number }>
  if (K === 1) {
    shapes = [{ index: 0, cid: entry.cid, bytes: entry.size, inputs: names, graphInputs: names, outputs: entry.info.outputs.map(o => o.name) }]
  } else {
    const bytes = await models.store.get(entry.cid)
    const options = {
      stages: K,
      state: init.state,
      sampleInputs: sampleStepInputs(entry.info.inputs, init.state, init.initialState),
      // a session has no batch to cut: every input is whole at every step
      batchAxes: Object.fromEntries(names.map(n => [n, null]))
    } satisfies PartitionOptions & { state: StatePair[] }
    const partition = await partitionModel(bytes, options)
    for (const st of partition.stages) await models.add(st.bytes)
    shapes = partition.stages.map(st => ({ index: st.index, cid: st.cid, bytes: st.bytes.byteLength, inputs: st.inputs, graphInputs: st.graphInputs, outputs: st.outputs }))
  }
  const plans = planSessionStages(shapes, init.state)
  const stages: SessionStageModel[] = plans.map((plan, k) => ({
    cid: (shapes[k] as { cid: string }).cid,
    plan,
    initialState: initialStateFor(plan.state, entry.info.inputs, init.initialState)
  }))
  if (init.jurisdiction != null && init.jurisdiction !== '') {
    models.restrict?.(entry.cid, init.jurisdiction)
    for (const st of stages) models.restrict?.(st.cid, init.jurisdiction)
  }
  const signal = init.signal ?? new AbortController().signal
  if (init.region != null) await svc.reachRegion(init.region, signal)
  const session = new MeshSession(svc, {
    id: randomUUID(),
    modelCid: entry.cid,
    modelBytes: Math.max(...shapes.map(s => s.bytes)),
    stages,
    stepInputs: [...new Set(plans.flatMap(p => p.fromRequester))]
  }, init)
  try {
    await session.opened()
  } catch (err) {
    await session.close().catch(() => {})
    throw err
  }
  return session
}

/**
 * One step's inputs for measuring a partition: the initial state for
 * each state input, zeros of the declared shape (symbolic dims 1) for
 * the others.
 */
function sampleStepInputs (declared: DeclaredTensor[], state: StatePair[], initial?: WireTensor[]): WireTensor[] {
  const states = initialStateFor(state, declared, initial)
  return declared.map(d => {
    const s = states.find(t => t.name === d.name)
    if (s != null) return s
    return zeros(d.name, d.dtype as TensorDType, d.shape.map(x => typeof x === 'number' && x >= 0 ? x : 1))
  })
}
