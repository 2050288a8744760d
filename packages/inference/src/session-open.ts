import { randomUUID } from 'node:crypto'
import { partitionModel } from '@fleetmesh/runtime'
import { SessionError } from './errors.js'
import { MeshSession } from './session.js'
import { initialStateFor, planSessionStages } from './session-plan.js'
import type { SessionInit } from './index.js'
import type { InferenceService } from './inference.js'
import type { SessionStageModel } from './session.js'
import type { SessionStageShape } from './session-plan.js'

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
  for (const [name, v] of [['maxSteps', init.maxSteps], ['maxReplaySteps', init.maxReplaySteps], ['maxReplayBytes', init.maxReplayBytes]] as const) {
    if (v != null && !(Number.isSafeInteger(v) && v >= 1)) throw new SessionError(`${name} ${v} is not a positive integer`, { code: 'ERR_SESSION_INPUT' })
  }
  if (!(init.maxPrice > 0)) throw new SessionError(`maxPrice ${init.maxPrice} is not a positive number of credits per unit`, { code: 'ERR_SESSION_INPUT' })
  const entry = typeof init.model === 'string' ? await models.fetch(init.model, { signal: init.signal }) : await models.add(init.model)
  const names = entry.info.inputs.map(i => i.name)
  let shapes: Array<SessionStageShape & { cid: string, bytes: number }>
  if (K === 1) {
    shapes = [{ index: 0, cid: entry.cid, bytes: entry.size, inputs: names, graphInputs: names, outputs: entry.info.outputs.map(o => o.name) }]
  } else {
    const bytes = await models.store.get(entry.cid)
    // a sample is made from the declared inputs; a session has no batch to cut
    const partition = await partitionModel(bytes, { stages: K, state: init.state })
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
