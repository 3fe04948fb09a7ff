/**
 * One import of an agent git dir's new commits into its host repo, timed in-process (the bench
 * compares the import itself, not Node's start): `import-once.ts REPO STATE NAME` prints the ms.
 */
import {importAgentGit} from '../src/lib/git/agent-git.js'

const [repo, state, name] = process.argv.slice(2) as [string, string, string]
const started = process.hrtime.bigint()
const report = await importAgentGit(repo, state, name)
const ms = Number(process.hrtime.bigint() - started) / 1e6
if (report.objects === 0) throw new Error('nothing was imported')
console.log(ms)
