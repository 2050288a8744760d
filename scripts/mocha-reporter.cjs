'use strict'
// Mocha's spec reporter plus one closing line CI reads:
// `tests: N passed, M failed` (pending tests count as failed: none may be skipped).
const Mocha = require('mocha')
const { Spec } = Mocha.reporters
const { EVENT_RUN_END } = Mocha.Runner.constants

class FleetmeshReporter extends Spec {
  constructor (runner, options) {
    super(runner, options)
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats
      process.nextTick(() => {
        console.log(`tests: ${s.passes} passed, ${s.failures + s.pending} failed`)
      })
    })
  }
}

module.exports = FleetmeshReporter
