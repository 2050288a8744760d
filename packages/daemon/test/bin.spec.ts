import { strict as assert } from 'node:assert'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '../src/constants.js'
import { killChildProcesses, removeTempDirs, tempDir, waitUntil } from '@fleetmesh/test-utils'
import { createFleetFiles, runCli, testDaemonConfig } from '@fleetmesh/test-utils/fleet'
import type { ChildProcess } from 'node:child_process'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** The repository root (packages/daemon/dist/test → ../../../..). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..')

/** A stand-in API that answers `GET /api/v1/peers` with `count` peers (about 150 bytes each). */
async function bigPeersApi (count: number): Promise<{ server: Server, url: string }> {
  const peers = Array.from({ length: count }, (_, i) => ({ peerId: `12D3KooW${String(i).padStart(44, 'x')}`, role: 'vehicle', region: 'u33d', rttMs: 1, multiaddrs: [`/ip4/127.0.0.1/tcp/${1000 + i}`] }))
  const server = createServer((_req, res) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ peers })) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

/** Runs npm (the one on PATH) with `args` in `cwd`; stdout and stderr kept. */
function spawnNpm (args: string[], cwd: string): ChildProcess & { out: string } {
  const child = spawn('npm', args, { cwd, env: { ...process.env, DEBUG: '', FLEETMESH_API: '', FLEETMESH_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] }) as ChildProcess & { out: string }
  child.out = ''
  child.stdout?.setEncoding('utf8').on('data', (d: string) => { child.out += d })
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { child.out += d })
  return child
}

async function exited (child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode != null || child.signalCode != null) return child.exitCode
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`npm ${child.spawnargs.slice(1).join(' ')} did not exit within ${timeoutMs} ms`)) }, timeoutMs)
    child.once('exit', (code) => { clearTimeout(timer); resolve(code) })
  })
}

function alive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch { return false }
}

describe('fleetmesh executable', function () {
  this.timeout(120_000)
  const npmChildren: ChildProcess[] = []
  const daemonPids: number[] = []

  afterEach(async () => {
    for (const c of npmChildren.splice(0)) if (c.exitCode == null && c.signalCode == null) c.kill('SIGKILL')
    for (const pid of daemonPids.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL')
    await killChildProcesses()
  })
  after(removeTempDirs)

  it('--json output is complete when stdout is a pipe (300 KB, more than a pipe holds)', async () => {
    const { server, url } = await bigPeersApi(2000)
    try {
      const r = await runCli(['peers', '--json', '--api', url, '--token', 'any-token'])
      assert.equal(r.code, EXIT_OK, r.stderr)
      assert.ok(r.stdout.length > 256 * 1024, `output is ${r.stdout.length} bytes`)
      const peers = JSON.parse(r.stdout)
      assert.equal(peers.length, 2000)
    } finally {
      server.close()
    }
  })

  it('one exit-code table: 0 ok, 1 runtime failure, 2 usage or config error', async () => {
    const dir = await tempDir('fleetmesh-bin-')
    const cases: Array<[string[], number, string]> = [
      [['--version'], EXIT_OK, '--version'],
      [['--help'], EXIT_OK, '--help'],
      [[], EXIT_USAGE, 'no command'],
      [['frobnicate'], EXIT_USAGE, 'unknown command'],
      [['authority'], EXIT_USAGE, 'missing subcommand'],
      [['peers', '--frobnicate'], EXIT_USAGE, 'unknown flag'],
      [['receipts', '--limit', 'ten'], EXIT_USAGE, 'bad flag value'],
      [['init', '--data-dir', join(dir, 'a')], EXIT_USAGE, 'missing required flag'],
      [['init', '--data-dir', join(dir, 'b'), '--role', 'station', '--region', 'u33d', '--set', 'api.port=abc'], EXIT_USAGE, 'bad config value'],
      [['daemon', '--data-dir', join(dir, 'none')], EXIT_USAGE, 'no config'],
      [['peers', '--data-dir', join(dir, 'none')], EXIT_FAILURE, 'daemon not running'],
      [['peers', '--api', 'http://127.0.0.1:9', '--token', 'any-token'], EXIT_FAILURE, 'connection refused']
    ]
    for (const [args, code, what] of cases) {
      const r = await runCli(args)
      assert.equal(r.code, code, `${what}: fleetmesh ${args.join(' ')} exits ${code}; stderr ${r.stderr}`)
    }
  })

  it('`npm run fleetmesh` resolves relative paths against the user\'s directory, not the repository root', async () => {
    const cwd = await tempDir('fleetmesh-bin-cwd-')
    const child = spawnNpm(['--prefix', ROOT, 'run', '--silent', 'fleetmesh', '--', 'init', '--data-dir', 'node-a', '--role', 'station', '--region', 'u33d', '--json'], cwd)
    npmChildren.push(child)
    const code = await exited(child, 60_000)
    assert.equal(code, 0, child.out)
    assert.ok(existsSync(join(cwd, 'node-a', 'config.json')), `config.json in ${cwd}/node-a; output: ${child.out}`)
    assert.ok(!existsSync(join(ROOT, 'node-a')), 'nothing written in the repository root')
  })

  it('killing the npm process that runs `fleetmesh daemon` stops the daemon (api.json removed, process gone)', async () => {
    const fleet = await createFleetFiles(await tempDir('fleetmesh-daemon-'))
    const config = await testDaemonConfig(fleet, 'station', 'station')
    await mkdir(config.dataDir, { recursive: true })
    const { dataDir, ...rest } = config
    await writeFile(join(dataDir, 'config.json'), JSON.stringify({ ...rest, dataDir: '.' }))
    const child = spawnNpm(['--prefix', ROOT, 'run', '--silent', 'fleetmesh', '--', 'daemon', '--data-dir', dataDir], ROOT)
    npmChildren.push(child)
    const apiJson = join(dataDir, 'api.json')
    await waitUntil(() => existsSync(apiJson) || child.exitCode != null, { timeoutMs: 60_000, intervalMs: 100, message: 'the daemon to write api.json' })
    assert.ok(existsSync(apiJson), `daemon did not start: ${child.out}`)
    const { pid } = JSON.parse(await readFile(apiJson, 'utf8'))
    daemonPids.push(pid)
    assert.notEqual(pid, child.pid, 'the daemon runs in a child of npm')
    child.kill('SIGTERM')
    await waitUntil(() => !alive(pid), { timeoutMs: 60_000, intervalMs: 100, message: `daemon ${pid} to exit after its npm parent was killed` })
    assert.ok(!existsSync(apiJson), 'api.json removed by the stopping daemon')
  })
})
