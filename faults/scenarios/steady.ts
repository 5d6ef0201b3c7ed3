import { STEADY_SHARE } from '../lib/options.js'
import type { Scenario } from '../lib/types.js'

/** Nothing breaks: the baseline every other scenario is read against. */
export const steady: Scenario = {
  name: 'steady',
  loadShare: STEADY_SHARE,
  description: 'Steady load, nothing broken, reply affinity on (the app\'s default): every request answered with its own quote.',
  checks: ({ tally: t }) => [
    { claim: `every request answered 200 with its own quote (${t.answered} of ${t.requests})`, ok: t.requests > 0 && t.answered === t.requests }
  ]
}
