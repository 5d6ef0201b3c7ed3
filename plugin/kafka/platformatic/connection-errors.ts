import { CERTIFICATE_REFUSED, certificateRefused } from '../transport.js'

interface LibraryError { code?: unknown, apiId?: unknown, serverErrorMessage?: unknown, errors?: unknown, cause?: unknown }

/**
 * A failed first connection as a person can act on it. @platformatic/kafka wraps the reason several
 * levels down ("Listing topics failed." > "metadata failed 6 times." > "Cannot connect to any
 * broker." > "Connection to host:port failed." > the reason): a refused TLS certificate or a
 * failed SASL authentication is brought up to the message. Anything else is returned as it is.
 */
export function explainConnectionFailure (err: unknown): unknown {
  return findReason(err, err, 0) ?? err
}

function findReason (error: unknown, top: unknown, depth: number): Error | undefined {
  if (depth > 10 || typeof error !== 'object' || error === null) return undefined
  const { code, apiId, serverErrorMessage, errors, cause } = error as LibraryError
  if (typeof code === 'string' && CERTIFICATE_REFUSED.has(code)) return certificateRefused(error as Error & { code: string }, undefined)
  if (apiId === 'SASL_AUTHENTICATION_FAILED') {
    return new Error(`Kafka SASL authentication failed${typeof serverErrorMessage === 'string' ? `: ${serverErrorMessage}` : ''} (SASL_AUTHENTICATION_FAILED)`, { cause: top })
  }
  for (const inner of [...(Array.isArray(errors) ? errors : []), cause]) {
    const found = findReason(inner, top, depth + 1)
    if (found !== undefined) return found
  }
  return undefined
}
