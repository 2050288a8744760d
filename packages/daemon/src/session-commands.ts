import { existsSync } from 'node:fs'
import { parseModelCid } from '@fleetmesh/runtime'
import Table from 'cli-table3'
import { intArg, numberArg, readInputFile } from './cli-args.js'
import { DEFAULT_SESSION_MAX_PRICE } from './constants.js'
import { UsageError } from './errors.js'
import type { ApiClient } from './client.js'
import type { SessionView } from './sessions.js'
import type { GenerateInit, StatePair } from '@fleetmesh/peer'
import type { Command } from 'commander'

/**
 * `fleetmesh generate` (autoregressive generation on a stateful session of
 * the mesh, tokens printed as they come) and `fleetmesh sessions` (the
 * sessions a daemon holds).
 */

/** What the session commands need from the CLI around them. */
export interface SessionCommandContext {
  io: { stdout: (text: string) => void, stderr: (text: string) => void }
  /** the command with the daemon connection flags (`--data-dir`, `--api`, `--token`, `--json`) */
  withConnect: (cmd: Command) => Command
  /** the client of the daemon those flags name */
  connect: (opts: Record<string, any>) => Promise<ApiClient>
}

/** `--prompt "1,2,3"` → token ids. @throws UsageError */
export function parsePrompt (text: string): number[] {
  const parts = text.split(/[\s,]+/).filter(p => p !== '')
  const tokens = parts.map(Number)
  if (parts.length === 0 || tokens.some((t, i) => !Number.isSafeInteger(t) || t < 0 || !/^\d+$/.test(parts[i] as string))) {
    throw new UsageError(`--prompt ${JSON.stringify(text)}: expected token ids (integers >= 0) separated by commas, e.g. --prompt "1,2,3"`)
  }
  return tokens
}

/** `--state "present:past,h_out:h_in"` → state pairs. @throws UsageError */
export function parseStatePairs (text: string): StatePair[] {
  return text.split(',').map(s => s.trim()).filter(s => s !== '').map(s => {
    const [output, input, extra] = s.split(':')
    if (output == null || input == null || output === '' || input === '' || extra != null) throw new UsageError(`--state ${JSON.stringify(text)}: expected output:input pairs separated by commas, e.g. --state h_out:h_in`)
    return { output, input }
  })
}

const short = (id: string): string => id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id

/** Registers `generate` and `sessions` on the program. */
export function registerSessionCommands (program: Command, ctx: SessionCommandContext): void {
  const { io } = ctx

  ctx.withConnect(program.command('generate'))
    .description('generate tokens with a stateful model on the mesh (a session: the workers keep the KV cache, each step sends only the new token); tokens print as they come')
    .requiredOption('--model <fileOrCid>', 'ONNX model file (uploaded) or the CID of a model the mesh has')
    .requiredOption('--prompt <ids>', 'prompt token ids, e.g. "1,2,3"')
    .requiredOption('--max-tokens <n>', 'tokens to generate', intArg('--max-tokens', 0, 65_536))
    .option('--stages <n>', 'pipeline stages, one worker each', intArg('--stages', 1, 64), 1)
    .option('--top-k <k>', 'sample from the k most likely tokens (default: greedy)', intArg('--top-k', 1))
    .option('--seed <n>', 'seed of the top-k sampler', intArg('--seed', 0), 0)
    .option('--temperature <t>', 'temperature of the top-k sampler', numberArg('--temperature'))
    .option('--stop-token <id>', 'stop once this token is generated', intArg('--stop-token', 0))
    .option('--state <pairs>', 'state pairs output:input (default: from the model\'s names, present_* → past_*, *_out → *_in)')
    .option('--max-price <credits>', 'most credits per compute unit (one step of one stage)', numberArg('--max-price'), DEFAULT_SESSION_MAX_PRICE)
    .option('--snapshot-every <n>', 'steps between state snapshots (0: recover a lost worker by replay)', intArg('--snapshot-every', 0))
    .option('--region <geohash>', 'region whose workers may serve (default: the node\'s)')
    .option('--jurisdiction <name>', 'data residency: only workers certified in this jurisdiction')
    .action(async (o: { model: string, prompt: string, maxTokens: number, stages: number, topK?: number, seed: number, temperature?: number, stopToken?: number, state?: string, maxPrice: number, snapshotEvery?: number, region?: string, jurisdiction?: string, json?: boolean }) => {
      const prompt = parsePrompt(o.prompt)
      const state = o.state != null ? parseStatePairs(o.state) : undefined
      if (o.topK == null && o.temperature != null) throw new UsageError('--temperature needs --top-k (greedy decoding has no temperature)')
      let modelBytes: Uint8Array | undefined
      let cid: string | undefined
      if (existsSync(o.model)) {
        modelBytes = await readInputFile(o.model, 'model')
      } else {
        try { cid = parseModelCid(o.model).toString() } catch { throw new UsageError(`model ${o.model}: no such file, and not a model CID`) }
      }
      const client = await ctx.connect(o)
      if (modelBytes != null) cid = (await client.uploadModel(modelBytes)).cid
      const started = Date.now()
      const session = await client.openSession({ model: cid as string, stages: o.stages, state, maxPrice: o.maxPrice, snapshotEvery: o.snapshotEvery, region: o.region, jurisdiction: o.jurisdiction })
      const openedMs = Date.now() - started
      if (o.json !== true) io.stderr(`session ${session.sessionId} open in ${openedMs} ms on ${session.stages} stage(s): ${session.workers.map(w => `${w.stage}:${short(w.peerId)}`).join(' ')}\n`)
      const init: GenerateInit = {
        prompt,
        maxTokens: o.maxTokens,
        sampler: o.topK != null ? { kind: 'top-k', k: o.topK, seed: o.seed, ...(o.temperature != null ? { temperature: o.temperature } : {}) } : { kind: 'greedy' },
        ...(o.stopToken != null ? { stopToken: o.stopToken } : {})
      }
      const tokens: number[] = []
      const generating = Date.now()
      // Ctrl-C stops generating; the session still closes and settles what it served
      const stop = new AbortController()
      const onSignal = (): void => { stop.abort() }
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
      let closed: SessionView | undefined
      try {
        for await (const t of client.generate(session.sessionId, init)) {
          tokens.push(t.token)
          if (o.json !== true) io.stdout(`${tokens.length > 1 ? ' ' : ''}${t.token}`)
          if (stop.signal.aborted) break
        }
      } finally {
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
        if (o.json !== true && tokens.length > 0) io.stdout('\n')
        closed = await client.closeSession(session.sessionId).catch(() => undefined)
      }
      const ms = Date.now() - generating
      const summary = closed?.summary
      if (o.json === true) {
        io.stdout(JSON.stringify({ sessionId: session.sessionId, model: cid, stages: session.stages, tokens, ms, openMs: openedMs, steps: summary?.steps ?? null, recoveries: summary?.recoveries ?? null, receipts: summary?.receipts ?? null, stepMs: closed?.stepMs ?? null }) + '\n')
        return
      }
      const rate = ms > 0 ? (tokens.length * 1000 / ms).toFixed(1) : '∞'
      io.stderr(`${tokens.length} tokens in ${ms} ms (${rate} tokens/s)${closed?.stepMs != null ? `, step p50 ${closed.stepMs.p50} ms` : ''}; ${summary != null ? `closed: ${summary.steps} steps, ${summary.recoveries} recoveries, ${summary.receipts} receipts` : 'the session did not close cleanly'}${stop.signal.aborted ? ' (interrupted)' : ''}\n`)
    })

  ctx.withConnect(program.command('sessions'))
    .description('stateful sessions opened through this daemon, newest first')
    .option('--open', 'only the open ones')
    .action(async (o: { open?: boolean, json?: boolean }) => {
      const sessions = await (await ctx.connect(o)).sessions({ open: o.open === true })
      if (o.json === true) { io.stdout(JSON.stringify(sessions) + '\n'); return }
      const t = new Table({ head: ['session', 'model', 'state', 'stages', 'steps', 'tokens', 'step p50 ms', 'workers'], style: { head: [], border: [] } })
      for (const s of sessions) t.push([s.sessionId, short(s.model), s.state, s.stages, s.steps, s.tokens, s.stepMs?.p50 ?? '', s.workers.map(w => `${w.stage}:${short(w.peerId)}`).join(' ')].map(String))
      io.stdout(t.toString() + '\n')
    })
}
