import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { killChildProcesses, runningChildren } from '../src/children.js'
import { runNode, spawnNode, waitExit } from '../src/process.js'
import { removeTempDirs, tempDir } from '../src/temp-dir.js'
import { waitUntil } from '../src/wait.js'

describe('Node.js scripts as processes', function () {
  this.timeout(30_000)
  let script: string
  before(async () => {
    script = join(await tempDir('fleetmesh-test-utils-'), 'script.mjs')
    await writeFile(script, `
      const [mode] = process.argv.slice(2)
      if (mode === 'hang') setInterval(() => {}, 1000)
      else if (mode === 'spawn-hang') {
        const { spawn } = await import('node:child_process')
        const grandchild = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
        process.stdout.write(String(grandchild.pid))
        setInterval(() => {}, 1000)
      }
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

  it('runNode SIGKILLs what the script started too when it runs past its timeout (a testnet\'s daemons)', async () => {
    const r = await runNode(script, ['spawn-hang'], { timeoutMs: 1000 })
    const pid = Number(r.stdout)
    assert.ok(Number.isInteger(pid) && pid > 0, `the script reported its grandchild: ${JSON.stringify(r.stdout)}`)
    const alive = (): boolean => { try { process.kill(pid, 0); return true } catch { return false } }
    try {
      await waitUntil(() => !alive(), { timeoutMs: 5000, message: `grandchild ${pid} to be killed` })
    } finally {
      if (alive()) process.kill(pid, 'SIGKILL')
    }
  })

  it('waitExit rejects past its timeout, naming the command; the script is killed', async () => {
    const child = spawnNode(script, ['hang'])
    await assert.rejects(waitExit(child, 300), /script\.mjs hang did not exit within 300 ms/)
    await killChildProcesses()
    assert.deepEqual(runningChildren(), [])
  })
})
