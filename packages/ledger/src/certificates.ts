import { CertificateExpiredError, CertificatePeerMismatchError, verifyCertificate } from '@fleetmesh/protocol'
import { CERTIFICATE_CACHE_SIZE } from './constants.js'
import { sha256, toHex } from './signing.js'
import type { VerifiedCertificate } from '@fleetmesh/protocol'
import type { PeerId, PublicKey } from '@libp2p/interface'

/**
 * Verifies device certificates inside receipts and evidence, caching the
 * signature check (a receipt names two certificates, and one worker's
 * certificate appears in thousands of receipts).
 *
 * A receipt's certificates are checked at the receipt's finish time, not
 * now: a receipt made while a certificate was valid stays valid after it
 * expires, so nodes that learn it at different times still agree on it.
 */
export class CertificateVerifier {
  private readonly cache = new Map<string, VerifiedCertificate>()
  private readonly trusted: PublicKey[]
  private readonly size: number

  constructor (trustedAuthorities: PublicKey[], size = CERTIFICATE_CACHE_SIZE) {
    this.trusted = trustedAuthorities
    this.size = size
  }

  /** True if `key` is one of the trusted fleet authorities (grants are signed by one). */
  isTrustedAuthority (key: PublicKey): boolean {
    return this.trusted.some(k => k.equals(key))
  }

  /**
   * @param bytes - the certificate envelope
   * @param peer - the peer it must be issued to
   * @param at - ms since the epoch at which it must be valid
   * @throws InvalidCertificateError, InvalidSignatureError, UnknownAuthorityError, CertificateExpiredError, CertificatePeerMismatchError
   */
  async verify (bytes: Uint8Array, peer: PeerId, at: number): Promise<VerifiedCertificate> {
    const key = toHex(sha256(bytes))
    let cert = this.cache.get(key)
    if (cert == null) {
      // signature, authority and shape only: the validity window is checked below against the receipt's time
      cert = await verifyCertificate(bytes, { trustedAuthorities: this.trusted, now: 0, clockSkewMs: Number.POSITIVE_INFINITY })
      if (this.cache.size >= this.size) {
        const oldest = this.cache.keys().next().value
        if (oldest != null) this.cache.delete(oldest)
      }
      this.cache.set(key, cert)
    }
    if (!cert.peerId.equals(peer)) {
      throw new CertificatePeerMismatchError(`certificate was issued to ${cert.peerId}, but the receipt names ${peer}`)
    }
    if (cert.expiresAt <= at) {
      throw new CertificateExpiredError(`certificate of ${peer} expired at ${new Date(cert.expiresAt).toISOString()}, before the receipt's time ${new Date(at).toISOString()}`)
    }
    return cert
  }
}
