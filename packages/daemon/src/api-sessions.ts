import { Readable } from 'node:stream'
import { decodeTensors, encodeTensors, MAX_TENSOR_BYTES } from '@fleetmesh/protocol'
import { parseModelCid } from '@fleetmesh/runtime'
import { z } from 'zod'
import { API_PREFIX, badRequest, HttpError, parseBody } from './api-errors.js'
import type { ApiContext } from './api.js'
import type { SessionView } from './sessions.js'
import type { GenerateInit } from '@fleetmesh/peer'
import type { WireTensor } from '@fleetmesh/protocol'
import type { FastifyInstance } from 'fastify'

/**
 * The API's stateful-session routes:
 *
 * - `POST /api/v1/sessions` opens a session (JSON; answers 201 with its view once every stage is leased)
 * - `GET /api/v1/sessions` lists them (`?open=1`: the open ones only), without their event logs
 * - `GET /api/v1/sessions/:id` one session, with its last progress events
 * - `POST /api/v1/sessions/:id/step` one step: `{ inputs }` (base64 of `encodeTensors`) → `{ step, outputs }`
 * - `POST /api/v1/sessions/:id/generate` tokens, streamed as NDJSON (`application/x-ndjson`): one
 *   `{ "token": id, "index": i, "ms": t }` line per token as it is generated, then
 *   `{ "done": true, "tokens": n, "steps": s, "ms": t }`, or `{ "error": { code, message } }` if the
 *   generation failed after the first line was sent
 * - `DELETE /api/v1/sessions/:id` closes it (settles its receipts) and answers its view with the summary
 */

const base64 = z.string().min(1).regex(/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/, 'expected base64')
const statePair = z.strictObject({ output: z.string().min(1), input: z.string().min(1) })

const sessionBody = z.strictObject({
  model: z.string().min(1),
  stages: z.number().int().min(1).max(64).optional(),
  state: z.array(statePair).min(1).max(1024).optional(),
  initialState: base64.optional(),
  maxPrice: z.number().positive(),
  deadlineMs: z.number().int().positive().max(3_600_000).optional(),
  region: z.string().min(1).optional(),
  jurisdiction: z.string().regex(/^[a-z0-9-]{1,32}$/, 'a jurisdiction is 1..32 lowercase letters, digits or dashes, e.g. eu').optional(),
  snapshotEvery: z.number().int().min(0).optional(),
  maxSteps: z.number().int().min(1).optional()
})

const stepBody = z.strictObject({ inputs: base64 })

const samplerSpec = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('greedy') }),
  z.strictObject({ kind: z.literal('top-k'), k: z.number().int().min(1), seed: z.number().int(), temperature: z.number().positive().optional() })
])

const generateBody = z.strictObject({
  prompt: z.array(z.number().int().min(0)).min(1).max(65_536),
  maxTokens: z.number().int().min(0).max(65_536),
  sampler: samplerSpec.optional(),
  stopToken: z.number().int().min(0).optional(),
  inputName: z.string().min(1).optional(),
  logitsName: z.string().min(1).optional()
})

/** A session view without its event log, as the list shows it. */
function listed (view: SessionView): Omit<SessionView, 'events'> {
  const { events: _events, ...rest } = view
  return rest
}

function tensorsField (field: string, value: string, maxBytes: number): WireTensor[] {
  try {
    return decodeTensors(Buffer.from(value, 'base64'), maxBytes)
  } catch (err: any) {
    throw badRequest(`field "${field}": not base64 of encodeTensors() bytes (${err?.message ?? err})`)
  }
}

const notFound = (id: string): HttpError => new HttpError(404, 'ERR_SESSION_NOT_FOUND', `no session ${id} on this daemon; list them with GET ${API_PREFIX}/sessions`)

/** Registers the session routes on the API server. */
export function registerSessionRoutes (app: FastifyInstance, ctx: ApiContext): void {
  const maxInputBytes = ctx.config.inference.maxInputBytes ?? MAX_TENSOR_BYTES
  const bodyLimit = Math.ceil(maxInputBytes * 4 / 3) + 64 * 1024
  const { sessions } = ctx

  app.post(`${API_PREFIX}/sessions`, { bodyLimit }, async (req, reply) => {
    const body = parseBody(sessionBody, req.body)
    try { parseModelCid(body.model) } catch (err: any) { throw badRequest(`field "model": ${err?.message ?? err}`) }
    const initialState = body.initialState != null ? tensorsField('initialState', body.initialState, maxInputBytes) : undefined
    const view = await sessions.open({ ...body, initialState })
    await reply.code(201).send(view)
  })

  app.get<{ Querystring: Record<string, string> }>(`${API_PREFIX}/sessions`, async (req) => {
    const open = req.query?.open
    if (open != null && !['0', '1', 'true', 'false'].includes(open)) throw badRequest(`query parameter "open": expected 1 or 0, got ${JSON.stringify(String(open).slice(0, 40))}`)
    return { sessions: sessions.list({ open: open === '1' || open === 'true' }).map(listed) }
  })

  app.get<{ Params: { id: string } }>(`${API_PREFIX}/sessions/:id`, async (req) => {
    const view = sessions.get(req.params.id)
    if (view == null) throw notFound(req.params.id)
    return view
  })

  app.post<{ Params: { id: string } }>(`${API_PREFIX}/sessions/:id/step`, { bodyLimit }, async (req) => {
    const body = parseBody(stepBody, req.body)
    const inputs = tensorsField('inputs', body.inputs, maxInputBytes)
    if (sessions.get(req.params.id) == null) throw notFound(req.params.id)
    const outputs = await sessions.step(req.params.id, inputs) as WireTensor[]
    const view = sessions.get(req.params.id)
    return { step: (view?.steps ?? 1) - 1, outputs: Buffer.from(encodeTensors(outputs, Number.MAX_SAFE_INTEGER)).toString('base64') }
  })

  app.post<{ Params: { id: string } }>(`${API_PREFIX}/sessions/:id/generate`, async (req, reply) => {
    const init: GenerateInit = parseBody(generateBody, req.body)
    if (sessions.get(req.params.id)?.state !== 'open') {
      const view = sessions.get(req.params.id)
      if (view == null) throw notFound(req.params.id)
      throw new HttpError(409, 'ERR_SESSION_CLOSED', `session ${view.sessionId} is ${view.state}; open a new one`)
    }
    const tokens = sessions.generate(req.params.id, init) as AsyncIterable<number>
    const iterator = tokens[Symbol.asyncIterator]()
    const started = Date.now()
    // the first token is awaited before the answer starts: a bad request is still a plain error status
    const first = await iterator.next()
    const line = (o: unknown): string => JSON.stringify(o) + '\n'
    const stream = Readable.from((async function * () {
      let index = 0
      let step = first
      try {
        while (step.done !== true) {
          yield line({ token: step.value, index: index++, ms: Date.now() - started })
          step = await iterator.next()
        }
        yield line({ done: true, tokens: index, steps: sessions.get(req.params.id)?.steps ?? 0, ms: Date.now() - started })
      } catch (err: any) {
        yield line({ error: { code: String(err?.code ?? 'ERR_INTERNAL'), message: String(err?.message ?? err) } })
      } finally {
        // the client went away: stop generating after the step in flight
        if (step.done !== true) await iterator.return?.()
      }
    })())
    await reply.type('application/x-ndjson').send(stream)
  })

  app.delete<{ Params: { id: string } }>(`${API_PREFIX}/sessions/:id`, async (req) => {
    const view = await sessions.close(req.params.id)
    if (view == null) throw notFound(req.params.id)
    return listed(view)
  })
}
