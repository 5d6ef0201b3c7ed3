// Every relative link and image in the project's markdown resolves: the file (or folder) it names
// exists, and a #fragment into a markdown file names one of its headings. No Kafka, no Redis.
import t from 'tap'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '../..')
const README_MAX_LINES = 340

/** The markdown files whose links are checked, relative to the root. */
function markdownFiles (): string[] {
  const files = ['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md']
  for (const folder of ['docs', 'examples']) {
    if (!existsSync(join(root, folder))) continue
    const found = readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
      .filter(name => name.endsWith('.md'))
      .map(name => join(folder, name))
    files.push(...found.sort())
  }
  return files
}

/** The lines of a markdown file outside fenced code blocks, inline code spans blanked. */
function proseLines (text: string): string[] {
  const lines: string[] = []
  let fence: string | undefined
  for (const line of text.split('\n')) {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1]
    if (marker !== undefined) {
      if (fence === undefined) fence = marker[0]
      else if (marker[0] === fence) fence = undefined
      lines.push('')
      continue
    }
    // A link's text may be code: keep the brackets, blank what is between the backticks.
    lines.push(fence === undefined ? line.replace(/(`+)[^`]*?\1/g, '`code`') : '')
  }
  return lines
}

interface Link {
  line: number
  target: string
}

const INLINE_LINK = /!?\[(?:[^[\]]|\[[^[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+["'(][^)]*)?\)/g
const DEFINITION = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+["'(].*)?$/

/** Every link and image target in a markdown file, with its line number. */
function linksOf (text: string): Link[] {
  const links: Link[] = []
  proseLines(text).forEach((line, index) => {
    for (const match of line.matchAll(INLINE_LINK)) links.push({ line: index + 1, target: match[1] })
    const definition = DEFINITION.exec(line)
    if (definition !== null) links.push({ line: index + 1, target: definition[1] })
  })
  return links
}

/** GitHub's anchor for a heading: lower case, punctuation but `-` dropped, spaces to `-`. */
function slug (heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link in a heading counts by its text
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
    .replace(/\s/g, '-')
}

/** The anchors of a markdown file's headings, repeated headings numbered as GitHub does. */
function anchorsOf (text: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  let fence: string | undefined
  for (const line of text.split('\n')) {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1]
    if (marker !== undefined) {
      if (fence === undefined) fence = marker[0]
      else if (marker[0] === fence) fence = undefined
      continue
    }
    if (fence !== undefined) continue
    const heading = /^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line)?.[1]
    if (heading === undefined) continue
    const base = slug(heading)
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    anchors.add(count === 0 ? base : `${base}-${count}`)
  }
  return anchors
}

const external = /^(?:[a-z][a-z0-9+.-]*:|\/\/)/i

t.test('the README stays short', async t => {
  const lines = readFileSync(join(root, 'README.md'), 'utf8').trimEnd().split('\n').length
  t.ok(lines <= README_MAX_LINES, `README.md has ${lines} lines, at most ${README_MAX_LINES}`)
})

for (const file of markdownFiles()) {
  t.test(`links of ${file}`, async t => {
    const text = readFileSync(join(root, file), 'utf8')
    const links = linksOf(text).filter(link => !external.test(link.target))
    if (links.length === 0) t.pass(`${file} has no relative links`)
    for (const { line, target } of links) {
      const where = `${file}:${line} -> ${target}`
      const hash = target.indexOf('#')
      const path = decodeURIComponent(hash === -1 ? target : target.slice(0, hash))
      const fragment = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1))
      const resolved = path === '' ? join(root, file) : resolve(root, dirname(file), path)
      if (!existsSync(resolved)) {
        t.ok(false, `${where}: ${relative(root, resolved)} does not exist`)
        continue
      }
      if (fragment === undefined || !resolved.endsWith('.md') || !statSync(resolved).isFile()) {
        t.ok(true, where)
        continue
      }
      const anchors = anchorsOf(readFileSync(resolved, 'utf8'))
      t.ok(anchors.has(fragment), `${where}: ${relative(root, resolved)} has a heading for #${fragment}`)
    }
  })
}
