import assert from 'node:assert/strict'
import { TEST_GRANT_CREDITS } from '../src/constants.js'
import { deserializeIdentity, serializeIdentity } from '../src/identity.js'
import { createTestMesh } from '../src/mesh.js'
import type { TestMesh } from '../src/mesh.js'

describe('test meshes fund their devices', function () {
  this.timeout(60_000)
  let mesh: TestMesh | undefined
  afterEach(async () => { await mesh?.stop() })

  it('every node starts with a grant of its own and knows every other device\'s, forked identities included', async () => {
    mesh = await createTestMesh()
    const a = await mesh.add('station', 'u33d')
    const forked = await mesh.identity('vehicle', 'u33d')
    const b = await mesh.add('station', 'u33d')
    for (const n of [a, b]) {
      assert.equal(n.ledger.spendable(), TEST_GRANT_CREDITS, `${n.peerId.toString()} can spend its grant`)
      assert.equal(n.ledger.grants().length, 3, 'a, the forked device and b: each grant reaches every node, the later ones too')
      assert.equal(n.ledger.spendable(forked.peerId), TEST_GRANT_CREDITS)
    }
    const restored = deserializeIdentity(serializeIdentity(forked, mesh))
    assert.equal(restored.ledger?.grants.length, 3, 'a forked node starts knowing the fleet\'s grants')
  })

  it('grantCredits 0 funds nobody', async () => {
    mesh = await createTestMesh({ grantCredits: 0 })
    const a = await mesh.add('station', 'u33d')
    assert.equal(a.ledger.spendable(), 0)
    assert.equal(deserializeIdentity(serializeIdentity(await mesh.identity('station', 'u33d'), mesh)).ledger, undefined)
  })
})
