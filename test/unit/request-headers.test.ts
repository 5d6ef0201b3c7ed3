// How the responder reads a request's headers, which any caller (Spring, NestJS, this plugin, or
// a producer that gets them wrong) may have written.
import t from 'tap'
import { HEADERS } from '../../plugin/protocol.js'
import { correlationText, rawHeader, replyPartition } from '../../plugin/responder/request-headers.js'

t.test('a correlation id reads as text when it is text, as hex when it is bytes', async t => {
  t.equal(correlationText('api-1.abc'), 'api-1.abc', 'a string header as it came')
  t.equal(correlationText(Buffer.from('api-1.abc')), 'api-1.abc', 'UTF-8 bytes')
  t.equal(correlationText(Buffer.from('prix-é')), 'prix-é')
  const spring = Buffer.from('0f8fad5bd9cb469fa16570867728950e', 'hex')
  t.equal(correlationText(spring), '0f8fad5bd9cb469fa16570867728950e', 'Spring\'s 16 raw bytes')
  t.equal(correlationText(Buffer.from('a\nb')), '610a62', 'control characters are not shown as text')
  t.equal(correlationText(Buffer.from([0x61, 0xff])), '61ff', 'bytes that are not UTF-8')
})

t.test('a repeated header counts by its first value', async t => {
  t.equal(rawHeader({ h: ['first', 'second'] }, 'h'), 'first')
  t.equal(rawHeader({ h: 'only' }, 'h'), 'only')
  t.equal(rawHeader({}, 'h'), undefined)
  t.equal(replyPartition({ [HEADERS.replyPartitionHint]: [Buffer.from('1'), Buffer.from('2')] }), 1)
})

t.test('a partition beyond what Kafka can have is absent, not a wrapped or huge number', async t => {
  t.equal(replyPartition({ [HEADERS.replyPartitionHint]: '2147483647' }), 2_147_483_647)
  t.equal(replyPartition({ [HEADERS.replyPartitionHint]: '2147483648' }), undefined)
  t.equal(replyPartition({ [HEADERS.replyPartition]: '9999999999' }), undefined)
  t.equal(replyPartition({ [HEADERS.replyPartitionHint]: '99999999999' }), undefined, 'more than 10 digits')
  t.equal(replyPartition({ [HEADERS.replyPartitionHint]: '9999999999', [HEADERS.replyPartition]: '3' }), 3, 'an unreadable hint leaves kafka_replyPartition to decide')
})
