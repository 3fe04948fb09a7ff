import {mkdtempSync, rmSync} from 'node:fs'
import {expect} from 'chai'
import {
  errorResult,
  exitCodeOf,
  IncusProjectMissingError,
  NotSetUpError,
  ProfileNotFoundError,
  ProjectNotFoundError,
  SensitiveMountError,
  UsageError,
} from '../../src/lib/errors.js'
import {classifyIncusFailure} from '../../src/lib/incus/errors.js'
import {resolvePaths} from '../../src/lib/paths.js'
import {findTemplate} from '../../src/lib/profiles/library.js'
import {findProject} from '../../src/lib/registry/schema.js'
import {RegistryStore} from '../../src/lib/registry/store.js'

const thrown = (run: () => unknown): unknown => {
  try {
    run()
  } catch (error) {
    return error
  }
  return expect.fail('expected a throw')
}

describe('errors', () => {
  it('carry code, exit code and hint into the --json error document', () => {
    const error = new SensitiveMountError('profile "x" would expose ~/.ssh; refused', {
      hint: 'repoman profile install x --allow-sensitive',
    })
    expect(errorResult(error)).to.deep.equal({
      error: {
        code: 'SENSITIVE_MOUNT',
        message: 'profile "x" would expose ~/.ssh; refused',
        exit_code: 1,
        hint: 'repoman profile install x --allow-sensitive',
      },
    })
    // No hint: no hint key at all (the schema has it optional).
    expect(errorResult(new UsageError('bad\n  flag'))).to.deep.equal({
      error: {code: 'USAGE', message: 'bad flag', exit_code: 2},
    })
  })

  it("reports oclif's parse errors as usage errors with exit 2, and anything else as ERROR with exit 1", () => {
    const parse = Object.assign(new Error('Nonexistent flag: --bogus'), {oclif: {exit: 2}})
    expect(exitCodeOf(parse)).to.equal(2)
    expect(errorResult(parse).error).to.deep.equal({
      code: 'USAGE',
      message: 'Nonexistent flag: --bogus',
      exit_code: 2,
    })
    expect(errorResult(new TypeError('x is undefined')).error).to.include({code: 'ERROR', exit_code: 1})
    expect(errorResult('plain text').error).to.include({code: 'ERROR', message: 'plain text', exit_code: 1})
  })

  it('name what to run where there is one thing to do, without a daemon', async () => {
    const registry = {project: []} as never
    const missing = thrown(() => findProject(registry, 'ghost'))
    expect(missing).to.be.instanceOf(ProjectNotFoundError)
    expect(errorResult(missing).error).to.deep.equal({
      code: 'PROJECT_NOT_FOUND',
      message: 'no project "ghost"; `repoman list` shows the projects',
      exit_code: 1,
      hint: 'repoman list',
    })

    const home = mkdtempSync('/tmp/rm-errors-')
    try {
      const paths = resolvePaths({HOME: home})
      const notSetUp = await RegistryStore.of(paths)
        .read()
        .then(
          () => expect.fail('there is no registry'),
          (e: unknown) => e,
        )
      expect(notSetUp).to.be.instanceOf(NotSetUpError).with.property('hint', 'repoman setup')

      const unknown = thrown(() => findTemplate('no-such-share', paths.userProfilesDir))
      expect(unknown).to.be.instanceOf(ProfileNotFoundError).and.include({
        code: 'PROFILE_NOT_FOUND',
        exitCode: 2,
        hint: 'repoman profile list',
      })
    } finally {
      rmSync(home, {recursive: true, force: true})
    }

    const project = classifyIncusFailure({
      args: ['query'],
      exitCode: 1,
      stdout: '',
      stderr: 'Error: Failed loading project "gone": Project not found',
      timeoutMs: 1000,
    })
    expect(project).to.be.instanceOf(IncusProjectMissingError).and.include({hint: 'repoman setup'})
  })
})
