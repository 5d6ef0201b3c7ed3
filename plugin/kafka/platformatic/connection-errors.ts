import { CERTIFICATE_REFUSED } from '../transport.js'

interface LibraryError { code?: unknown, apiId?: unknown, message?: unknown, serverErrorMessage?: unknown, errors?: unknown, cause?: unknown }

/**
 * A failed first connection as a person can act on it. @platformatic/kafka wraps the reason several
 * levels down ("Listing topics failed." > "metadata failed 6 times." > "Cannot connect to any
 * broker." > "Connection to host:port failed." > the reason): a refused TLS certificate or a
 * failed SASL authentication is brought up to the message. Anything else is returned as it is.
 */
export function explainConnectionFailure (err: unknown): unknown {
  const reason = findReason(err, 0)
  if (reason === undefined) return err
  return new Error(reason, { cause: err })
}

function findReason (error: unknown, depth: number): string | undefined {
  if (depth > 10 || typeof error !== 'object' || error === null) return undefined
  const { code, apiId, message, serverErrorMessage, errors, cause } = error as LibraryError
  if (typeof code === 'string' && CERTIFICATE_REFUSED.has(code)) {
    return `the TLS certificate of the Kafka broker was refused: ${String(message)} (${code})`
  }
  if (apiId === 'SASL_AUTHENTICATION_FAILED') {
    return `Kafka SASL authentication failed${typeof serverErrorMessage === 'string' ? `: ${serverErrorMessage}` : ''} (SASL_AUTHENTICATION_FAILED)`
  }
  for (const inner of [...(Array.isArray(errors) ? errors : []), cause]) {
    const found = findReason(inner, depth + 1)
    if (found !== undefined) return found
  }
  return undefined
}
