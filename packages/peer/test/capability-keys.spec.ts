import assert from 'node:assert/strict'
import { capabilityCid, capabilityKey, startupCapabilities } from '../src/capability-keys.js'

describe('capability keys (startupCapabilities, capabilityCid)', () => {
  it('a station announces its role and every prefix of its region from 2 characters; a vehicle its region only', () => {
    assert.deepEqual(startupCapabilities('station', 'u33d'), [['role', 'station'], ['region', 'u3'], ['region', 'u33'], ['region', 'u33d']])
    assert.deepEqual(startupCapabilities('vehicle', 'u33d'), [['region', 'u33d']])
    // a region as short as the shortest prefix is announced once
    assert.deepEqual(startupCapabilities('station', 'u3'), [['role', 'station'], ['region', 'u3']])
    assert.deepEqual(startupCapabilities('station', 'u'), [['role', 'station'], ['region', 'u']])
  })

  it('a key\'s CID is stable and distinct per kind and value', async () => {
    assert.equal(capabilityKey('region', 'u33d'), 'region/u33d')
    const a = await capabilityCid('region', 'u33d')
    assert.equal(a.toString(), (await capabilityCid('region', 'u33d')).toString())
    assert.notEqual(a.toString(), (await capabilityCid('region', 'u33e')).toString())
    assert.notEqual(a.toString(), (await capabilityCid('model', 'u33d')).toString())
  })
})
