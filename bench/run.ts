/**
 * `npm run bench [name...]`: runs every bench/*.bench.ts (or the named ones) in turn. Each file
 * default-exports an async function that prints its own side-by-side table. Benchmarks, not tests:
 * nothing here asserts a time.
 */
import {readdirSync} from 'node:fs'
import path from 'node:path'
import {pathToFileURL} from 'node:url'

const dir = import.meta.dirname
const wanted = process.argv.slice(2)
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.includes(f.replace(/\.bench\.ts$/, '')))
  .sort()
if (files.length === 0) {
  console.error(`no benchmark matches ${wanted.join(', ')}; have: ${readdirSync(dir).filter((f) => f.endsWith('.bench.ts')).join(', ')}`)
  process.exit(2)
}
for (const file of files) {
  console.log(`\n=== ${file.replace(/\.bench\.ts$/, '')} ===`)
  const mod = (await import(pathToFileURL(path.join(dir, file)).href)) as {default: () => Promise<void>}
  await mod.default()
}
