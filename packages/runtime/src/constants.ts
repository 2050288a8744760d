/**
 * Defaults of the runtime's partitioner.
 */

/**
 * How far over the best achievable bottleneck stage cost (a fraction of it)
 * a cut may go to send fewer bytes across the cuts: 0.15 trades up to 15 %
 * of balance for less traffic, the range pipeline planners such as
 * PipeDream's partitioner accept.
 */
export const DEFAULT_PARTITION_SLACK = 0.15
