// Builds dist/: index.js (CommonJS, for the devtools' npm build and Node), index.mjs (ES module),
// and the .d.ts files (tsc, which also type-checks against miniprogram-api-typings).
import { execFileSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildSync } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
rmSync(join(root, 'dist'), { recursive: true, force: true })
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' })
for (const [format, file] of [['cjs', 'index.js'], ['esm', 'index.mjs']]) {
  buildSync({
    entryPoints: [join(root, 'src/index.ts')],
    outfile: join(root, 'dist', file),
    bundle: true,
    format,
    platform: 'neutral',
    target: 'es2017',
    logLevel: 'warning',
  })
}
