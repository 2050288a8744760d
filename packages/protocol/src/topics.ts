import { assertRegion } from './region.js'

/**
 * Gossipsub topic names, all built here: `/fleetmesh/1/<kind>[/<region>]`.
 * The `1` is the topic schema version.
 */
export const TOPIC_PREFIX = '/fleetmesh/1'

/** Region-scoped job offers. @throws InvalidRegionError */
export function offersTopic (region: string): string {
  return `${TOPIC_PREFIX}/offers/${assertRegion(region)}`
}

/** Region-scoped bids. @throws InvalidRegionError */
export function bidsTopic (region: string): string {
  return `${TOPIC_PREFIX}/bids/${assertRegion(region)}`
}

/** Fleet-wide countersigned work receipts. */
export const RECEIPTS_TOPIC = `${TOPIC_PREFIX}/receipts`

/** Fleet-wide signed revocation lists of the fleet authorities. */
export const REVOCATIONS_TOPIC = `${TOPIC_PREFIX}/revocations`

/** Fleet-wide presence / announcements (node start, drain, capability changes). */
export const PRESENCE_TOPIC = `${TOPIC_PREFIX}/presence`

/** The kinds of region-scoped topic and the region, parsed back from a topic name; `undefined` if it is not one. */
export function parseRegionTopic (topic: string): { kind: 'offers' | 'bids', region: string } | undefined {
  const m = /^\/fleetmesh\/1\/(offers|bids)\/([0-9b-hjkmnp-z]{1,12})$/.exec(topic)
  if (m == null) return undefined
  return { kind: m[1] as 'offers' | 'bids', region: m[2] as string }
}
