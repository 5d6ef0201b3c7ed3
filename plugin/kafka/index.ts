import { errors } from '../errors.js'
import type { Log } from '../log.js'
import { KafkajsTransport } from './kafkajs/index.js'
import { PLATFORMATIC, type KafkaOption } from './options.js'
import type { KafkaTransport } from './transport.js'

export { checkKafkaOption, libraryOf, LIBRARIES, PLATFORMATIC } from './options.js'
export type { KafkaLibrary, KafkaOption, PlatformaticKafkaOption, PlatformaticSasl, PlatformaticSettings } from './options.js'
export type { KafkajsOption } from './kafkajs/options.js'

/**
 * The transport for a checked `kafka` option. @platformatic/kafka is loaded only here, when
 * chosen: a missing install or a Node.js older than it needs fails with
 * FST_KAFKA_REPLY_INVALID_OPTION saying what to do.
 */
export async function createTransport (option: KafkaOption, log: Log): Promise<KafkaTransport> {
  if (option.library !== PLATFORMATIC) return new KafkajsTransport(option, log)
  const unsupported = platformaticNodeProblem(process.versions.node)
  if (unsupported !== undefined) throw new errors.INVALID_OPTION('kafka.library', unsupported)
  let platformatic: typeof import('./platformatic/index.js')
  try {
    platformatic = await import('./platformatic/index.js')
  } catch (err) {
    const { code, message } = err as { code?: unknown, message?: unknown }
    if (code === 'ERR_MODULE_NOT_FOUND' && typeof message === 'string' && message.includes(`'${PLATFORMATIC}'`)) {
      throw new errors.INVALID_OPTION('kafka.library', `${PLATFORMATIC} is not installed: npm install ${PLATFORMATIC}`)
    }
    throw err
  }
  return new platformatic.PlatformaticTransport(option, log)
}

/** Why this Node.js cannot run @platformatic/kafka (it needs >= 22.22 on 22, >= 24.6 on 24); undefined when it can. */
export function platformaticNodeProblem (version: string): string | undefined {
  const [major, minor] = version.split('.').map(Number)
  const ok = major === 22 ? minor >= 22 : major === 24 ? minor >= 6 : major === 23 || major > 24
  return ok ? undefined : `${PLATFORMATIC} needs Node.js >= 22.22 or >= 24.6; this is Node.js ${version}`
}
