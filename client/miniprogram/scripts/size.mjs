// Prints the size of the published client minified and gzipped (goal: under 6 KB).
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { transformSync } from 'esbuild'

const GOAL = 6 * 1024
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const src = readFileSync(join(root, 'dist/index.mjs'), 'utf8')
const min = transformSync(src, { minify: true, format: 'esm', target: 'es2017' }).code
const gz = gzipSync(min, { level: 9 }).length
console.log(`@wxlogin/miniprogram: ${src.length} bytes, ${min.length} minified, ${gz} minified+gzipped (goal < ${GOAL})`)
if (gz >= GOAL) {
  console.error('over the size goal')
  process.exit(1)
}
