import { strict as assert } from 'node:assert'
import { writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { generateMlp } from '@fleetmesh/runtime'
import { killChildProcesses, removeTempDirs, tempDir } from '@fleetmesh/test-utils'
import { createFleetFiles, runCli, testDaemonConfig } from '@fleetmesh/test-utils/fleet'
import { startDaemon } from '../src/daemon.js'
import { writeNpy } from '../src/npy.js'
import type { Daemon } from '../src/daemon.js'
import type { NodeRun } from '@fleetmesh/test-utils/fleet'
import type { AddressInfo } from 'node:net'

/** A loopback TCP port nothing listens on (bound, then closed). */
async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise(resolve => server.close(resolve))
  return port
}

/** Bad input: a non-zero exit, exactly one line on stderr (`fleetmesh: …`), no stack trace. */
function assertOneLineError (r: NodeRun, message: RegExp, what: string): void {
  assert.notEqual(r.code, 0, `${what}: exit code`)
  const lines = r.stderr.split('\n').filter(l => l !== '')
  assert.equal(lines.length, 1, `${what}: one stderr line, got ${JSON.stringify(r.stderr)}`)
  assert.match(lines[0] as string, /^fleetmesh: /, `${what}: prefix`)
  assert.match(lines[0] as string, message, `${what}: message`)
  assert.ok(!/^\s+at /m.test(r.stderr + r.stdout), `${what}: no stack trace`)
}

describe('fleetmesh CLI: bad input', function () {
  this.timeout(120_000)
  let dir: string
  let daemon: Daemon | undefined
  let goodNpy: string
  let modelFile: string

  before(async () => {
    dir = await tempDir('fleetmesh-cli-')
    goodNpy = join(dir, 'x.npy')
    await writeFile(goodNpy, writeNpy({ dtype: 'float32', shape: [2, 4], data: new Float32Array(8) }))
    modelFile = join(dir, 'mlp.onnx')
    await writeFile(modelFile, generateMlp({ inputs: 4, hidden: [8], outputs: 2 }))
    const fleet = await createFleetFiles(await tempDir('fleetmesh-daemon-'))
    daemon = await startDaemon(await testDaemonConfig(fleet, 'station', 'station'), { log: () => {} })
  })
  afterEach(killChildProcesses)
  after(async () => {
    await killChildProcesses()
    await daemon?.stop()
    await removeTempDirs()
  })

  it('no command, an unknown command, an unknown flag, a bad flag value', async () => {
    assertOneLineError(await runCli([]), /missing command; run `fleetmesh --help`/, 'no command')
    assertOneLineError(await runCli(['frobnicate']), /unknown command 'frobnicate'/, 'unknown command')
    assertOneLineError(await runCli(['peers', '--frobnicate']), /unknown option '--frobnicate'/, 'unknown flag')
    assertOneLineError(await runCli(['submit', '--model', modelFile, '--input', `x=${goodNpy}`, '--max-price', '1', '--shards', 'two']), /--shards: expected an integer 1\.\.1024, got "two"/, 'bad --shards')
    assertOneLineError(await runCli(['submit', '--model', modelFile, '--input', `x=${goodNpy}`]), /required option '--max-price <credits>' not specified/, 'missing --max-price')
    const help = await runCli(['--help'])
    assert.equal(help.code, 0, '--help exits 0')
    assert.match(help.stdout, /Usage: fleetmesh/)
  })

  it('a bad config value names the key; a daemon without a certificate says how to get one', async () => {
    const dataDir = await tempDir('fleetmesh-cli-dd-')
    const base = ['daemon', '--data-dir', dataDir, '--role', 'station', '--region', 'u33d', '--authority', 'CAESIJP8Bf/JJV8WAnC3npDM2Uz3Xc/Niz+CArX6BUXiAO85']
    assertOneLineError(await runCli([...base, '--api-port', 'abc']), /config key "api\.port": expected an integer 0\.\.65535, got "abc"/, 'bad --api-port')
    assertOneLineError(await runCli([...base], { env: { FLEETMESH_API_HOST: '0.0.0.0' } }), /config key "api\.host": expected a loopback address: 127\.0\.0\.1 or ::1, got "0\.0\.0\.0" \(from env FLEETMESH_API_HOST\)/, 'bad env')
    assertOneLineError(await runCli([...base, '--set', 'worker.maxLeases=lots']), /config key "worker\.maxLeases": expected an integer/, 'bad --set')
    assertOneLineError(await runCli(['daemon', '--config', join(dir, 'missing.json')]), /missing\.json: cannot read it as JSON \(no such file\)/, 'missing config file')
    assertOneLineError(await runCli([...base]), /cannot read the certificate .*certificate \(ENOENT\); have the fleet authority issue one: fleetmesh authority issue .*--peer 12D3Koo/, 'no certificate')
  })

  it('the daemon is not running, or refuses the token', async () => {
    const empty = await tempDir('fleetmesh-cli-empty-')
    assertOneLineError(await runCli(['peers', '--data-dir', empty]), /no daemon is running on .* \(no api\.json\); start one with `fleetmesh daemon --data-dir/, 'no api.json')
    const closed = await closedPort()
    assertOneLineError(await runCli(['status', '--api', `http://127.0.0.1:${closed}`, '--token', 't']), new RegExp(`no fleetmesh daemon answers at http://127\\.0\\.0\\.1:${closed} \\(ECONNREFUSED\\)`), 'connection refused')
    assertOneLineError(await runCli(['status', '--api', `http://127.0.0.1:${closed}`]), /--api needs a token/, 'no token')
    const d = daemon as Daemon
    assertOneLineError(await runCli(['peers', '--api', d.url, '--token', 'wrong']), /refused the API token/, 'wrong token')
    assertOneLineError(await runCli(['peers'], { env: { FLEETMESH_API: d.url, FLEETMESH_TOKEN: 'wrong' } }), /refused the API token/, 'wrong token from env')
    const ok = await runCli(['peers', '--api', d.url, '--token', d.token, '--json'])
    assert.equal(ok.code, 0, ok.stderr)
    assert.deepEqual(JSON.parse(ok.stdout), [])
  })

  it('submit: a missing model file, a missing or bad .npy, a malformed --input', async () => {
    const d = daemon as Daemon
    const conn = ['--api', d.url, '--token', d.token]
    const bad = join(dir, 'bad.npy')
    await writeFile(bad, 'this is not numpy')
    const bigEndian = join(dir, 'be.npy')
    const be = Buffer.from(writeNpy({ dtype: 'float32', shape: [1], data: new Float32Array(1) }))
    be.write('>f4', be.indexOf("'<f4'") + 1, 'latin1')
    await writeFile(bigEndian, be)
    assertOneLineError(await runCli(['submit', ...conn, '--model', join(dir, 'nope.onnx'), '--input', `x=${goodNpy}`, '--max-price', '1']), /model .*nope\.onnx: no such file, and not a model CID/, 'missing model')
    assertOneLineError(await runCli(['submit', ...conn, '--model', modelFile, '--input', `x=${join(dir, 'none.npy')}`, '--max-price', '1']), /input x: .*none\.npy: no such file/, 'missing npy')
    assertOneLineError(await runCli(['submit', ...conn, '--model', modelFile, '--input', `x=${bad}`, '--max-price', '1']), /bad\.npy is not a \.npy file/, 'bad npy')
    assertOneLineError(await runCli(['submit', ...conn, '--model', modelFile, '--input', `x=${bigEndian}`, '--max-price', '1']), /dtype >f4 is not supported \(big-endian/, 'big-endian npy')
    assertOneLineError(await runCli(['submit', ...conn, '--model', modelFile, '--input', goodNpy, '--max-price', '1']), /--input ".*x\.npy": expected name=file\.npy/, 'malformed --input')
    assertOneLineError(await runCli(['submit', ...conn, '--model', modelFile, '--input', `y=${goodNpy}`, '--max-price', '1']), /input "y" is not an input of the model \(it takes x\)/, 'input the model does not take')
    assert.equal((await fetch(`${d.url}/api/v1/info`, { headers: { authorization: `Bearer ${d.token}` } })).status, 200, 'the daemon keeps serving')
  })
})
