import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { killChildProcesses, runningChildren } from '../src/children.js'
import { runNode, spawnNode, waitExit } from '../src/process.js'
import { removeTempDirs, tempDir } from '../src/temp-dir.js'

describe('Node.js scripts as processes', function () {
  this.timeout(30_000)
  let script: string
  before(async () => {
    script = join(await tempDir('fleetmesh-test-utils-'), 'script.mjs')
    await writeFile(script, `
      const [mode] = process.argv.slice(2)
      if (mode === 'hang') setInterval(() => {}, 1000)
      else { process.stdout.write('out ' + (process.env.TU_VAR ?? '-')); process.stderr.write(' err'); process.exitCode = Number(mode ?? 0) }
    `)
  })
  afterEach(killChildProcesses)
  after(removeTempDirs)

  it('runNode collects stdout, stderr and both in order, with the exit code and the given environment', async () => {
    const r = await runNode(script, ['4'], { timeoutMs: 20_000, env: { TU_VAR: 'set' } })
    assert.equal(r.code, 4)
    assert.equal(r.stdout, 'out set')
    assert.equal(r.stderr, ' err')
    assert.equal(r.out, 'out set err')
  })

  it('runNode SIGKILLs a script past its timeout and resolves with code null', async () => {
    const r = await runNode(script, ['hang'], { timeoutMs: 300 })
    assert.equal(r.code, null)
    assert.equal(r.signal, 'SIGKILL')
  })

  it('waitExit rejects past its timeout, naming the command; the script is killed', async () => {
    const child = spawnNode(script, ['hang'])
    await assert.rejects(waitExit(child, 300), /script\.mjs hang did not exit within 300 ms/)
    await killChildProcesses()
    assert.deepEqual(runningChildren(), [])
  })
})
