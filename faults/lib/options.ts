import { parseArgs } from 'node:util'

/** The suite's command-line options, checked. */
export interface SuiteOptions {
  quick: boolean
  /** Load per scenario, ms (a scenario may need more). */
  durationMs: number
  /** Requests per second, for every scenario; undefined: each scenario's share of the capacity measured at the start. */
  rate: number | undefined
  /** The replicas' reply deadline, ms. */
  timeoutMs: number
  logLevel: string
  /** Where to write every child's output and every call of each scenario, for a closer look. */
  logs: string | undefined
  /** Scenario names to run; all when undefined. */
  only: string[] | undefined
  /** The Kafka client library of the replicas and the worker (--library, default kafkajs). */
  library: 'kafkajs' | '@platformatic/kafka'
}

/** The load of `steady`, as a share of the capacity the suite measures first (when --rate does not set it). */
export const STEADY_SHARE = 0.7
/**
 * The load of a fault scenario. The fault itself needs CPU on the same two cores: a JVM starting
 * takes a core for seconds, and thousands of calls held to their deadline cost sockets, timers and
 * answers. At 70%, the broker and worker restarts pushed 504s up to 1.7 s past their deadline and
 * left calls unanswered for more than 3 s past it, because nothing had CPU to answer them.
 */
export const FAULT_SHARE = 0.5

/**
 * --duration S (default 60), --quick (10 s each), --rate N (default: a share of the capacity measured at
 * the start, on this machine with everything the scenarios run: 70% for `steady`, 50% with a fault), --timeout MS (default 2000, so
 * deadlines pass quickly), --log-level (of the children, default warn: info logs two lines per
 * request), --logs DIR (children's output and each scenario's calls), --only a,b, --library kafkajs or
 * @platformatic/kafka (of the replicas and the worker; the latter on Node.js 22.22+ or 24.6+).
 */
export function parseOptions (argv: string[], names: string[]): SuiteOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string', default: '60' },
      rate: { type: 'string' },
      timeout: { type: 'string', default: '2000' },
      'log-level': { type: 'string', default: 'warn' },
      logs: { type: 'string' },
      only: { type: 'string' },
      library: { type: 'string', default: 'kafkajs' }
    }
  })
  const library = values.library
  if (library !== 'kafkajs' && library !== '@platformatic/kafka') throw new Error(`--library takes kafkajs or @platformatic/kafka, not ${library}`)
  const only = values.only?.split(',')
  const unknown = only?.filter(name => !names.includes(name)) ?? []
  if (unknown.length > 0) throw new Error(`--only names no scenario ${unknown.join(', ')}; there are: ${names.join(', ')}`)
  const quick = values.quick === true
  return {
    quick,
    durationMs: (quick ? 10 : positive('duration', values.duration)) * 1000,
    rate: values.rate === undefined ? undefined : positive('rate', values.rate),
    timeoutMs: positive('timeout', values.timeout),
    logLevel: values['log-level'] ?? 'warn',
    logs: values.logs,
    only,
    library
  }
}

function positive (name: string, value: string | undefined): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} takes a whole number above 0, not ${value}`)
  return n
}
