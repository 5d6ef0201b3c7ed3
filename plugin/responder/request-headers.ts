import { HEADERS, type RecordHeaders } from '../protocol.js'

const DECIMAL = /^\d{1,10}$/
const MAX_PARTITION = 2_147_483_647

/** One header's value as it came (the first when a header repeats). */
export function rawHeader (headers: RecordHeaders, name: string): Buffer | string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

/** A correlation id as text for a handler: UTF-8 when its bytes are text, hex otherwise (Spring's are 16 raw bytes). */
export function correlationText (id: Buffer | string): string {
  if (typeof id === 'string') return id
  const text = id.toString('utf8')
  const printable = !id.some(byte => byte < 0x20 || byte === 0x7f)
  return printable && Buffer.from(text, 'utf8').equals(id) ? text : id.toString('hex')
}

/**
 * The partition a request asks its reply to go to: this project's hint first (decimal), then
 * `kafka_replyPartition`, which Spring writes as a 4-byte big-endian int and NestJS as a decimal
 * string: exactly 4 bytes that are not all ASCII digits is an int, anything else decimal text.
 * Undefined when absent or unreadable.
 */
export function replyPartition (headers: RecordHeaders): number | undefined {
  return decimal(rawHeader(headers, HEADERS.replyPartitionHint)) ?? eitherEncoding(rawHeader(headers, HEADERS.replyPartition))
}

function eitherEncoding (value: Buffer | string | undefined): number | undefined {
  if (Buffer.isBuffer(value) && value.length === 4 && !value.every(byte => byte >= 0x30 && byte <= 0x39)) {
    const partition = value.readInt32BE(0)
    return partition >= 0 ? partition : undefined
  }
  return decimal(value)
}

function decimal (value: Buffer | string | undefined): number | undefined {
  if (value === undefined) return undefined
  const text = value.toString()
  if (!DECIMAL.test(text)) return undefined
  const partition = Number(text)
  return partition <= MAX_PARTITION ? partition : undefined
}
