import { createHash } from 'node:crypto'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
import { sha256 } from 'multiformats/hashes/sha2'
import { InvalidCidError } from './errors.js'

/**
 * Models are addressed by content: CIDv1, raw codec, sha2-256 of the model
 * file's bytes (the multiformats CID spec). The same bytes give the same CID
 * on every node.
 */
export function modelCid (bytes: Uint8Array): string {
  const hash = createHash('sha256').update(bytes).digest()
  return CID.createV1(raw.code, Digest.create(sha256.code, hash)).toString()
}

/**
 * Parses and checks a model CID string.
 *
 * @throws InvalidCidError if it is not a CIDv1 with the raw codec and a sha2-256 hash
 */
export function parseModelCid (cid: string): CID {
  let parsed: CID
  try {
    parsed = CID.parse(cid)
  } catch (err: any) {
    throw new InvalidCidError(`"${cid.slice(0, 80)}" is not a CID: ${err?.message ?? err}`)
  }
  if (parsed.version !== 1 || parsed.code !== raw.code || parsed.multihash.code !== sha256.code) {
    throw new InvalidCidError(`CID ${cid} is not a model CID (CIDv1, raw codec, sha2-256)`)
  }
  return parsed
}

/** The sha2-256 digest a model CID names. @throws InvalidCidError */
export function cidDigest (cid: string): Uint8Array {
  return parseModelCid(cid).multihash.digest
}
