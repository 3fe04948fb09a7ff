/**
 * The layering docs/architecture.md describes, checked: what the user sees (oclif, listr2,
 * enquirer, src/cli) stays out of src/lib, and processes (zx, child_process) stay out of the
 * commands, which reach Incus and rsync only through src/lib.
 */
import {readdirSync, readFileSync} from 'node:fs'
import {join, relative, resolve} from 'node:path'
import {expect} from 'chai'

const ROOT = resolve(import.meta.dirname, '..')

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), {recursive: true, encoding: 'utf8'})
    .filter((file) => file.endsWith('.ts'))
    .map((file) => join(ROOT, dir, file))
}

/** Every module specifier a file imports, statically or lazily. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1] as string)
}

function offenders(dir: string, forbidden: RegExp): string[] {
  return sources(dir).flatMap((file) =>
    importsOf(file)
      .filter((specifier) => forbidden.test(specifier))
      .map((specifier) => `${relative(ROOT, file)} imports ${specifier}`),
  )
}

describe('architecture', () => {
  it('keeps the user interface out of src/lib', () => {
    expect(sources('src/lib')).to.not.be.empty
    expect(offenders('src/lib', /^(listr2|enquirer|@oclif\/|.*\/cli\/)/)).to.deep.equal([])
  })

  it('keeps processes out of the commands', () => {
    expect(sources('src/commands')).to.not.be.empty
    expect(
      offenders('src/commands', /^(zx|zx\/.*|node:child_process|child_process)$|\/incus\/socket\.js$/),
    ).to.deep.equal([])
  })
})
