// What of a Redis error the plugin logs or passes on: never the command's arguments.
import t from 'tap'
import { withoutCommand } from '../../plugin/redis/pipeline.js'

t.test('withoutCommand keeps the name, message, code and command name, drops the arguments', async t => {
  const refused = Object.assign(new Error('OOM command not allowed when used memory > \'maxmemory\'.'), {
    name: 'ReplyError',
    command: { name: 'set', args: ['app:{api-1}:c1', 'R|{"iban":"DE89"}', 'PX', '5000', 'NX'] }
  })
  const plain = withoutCommand(refused)
  t.equal(plain.name, 'ReplyError')
  t.equal(plain.message, refused.message)
  t.equal((plain as Error & { command?: unknown }).command, 'set')
  t.notMatch(JSON.stringify({ ...plain, stack: plain.stack }), /DE89|api-1/)
  t.match(plain.stack, /^ReplyError: OOM command not allowed/)
})

t.test('an error without a command is passed as it is; anything else becomes an Error', async t => {
  const err = new Error('Connection is closed.')
  t.equal(withoutCommand(err), err)
  t.match(withoutCommand('NOPERM'), { message: 'NOPERM' })
})
