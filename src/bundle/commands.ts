/**
 * Every command, by id: the target of oclif's explicit command strategy (package.json
 * oclif.commands), so the bundled CLI (scripts/bundle.mjs) finds its commands in one module instead
 * of a folder of files. test/unit/commands-index.test.ts holds this list to src/commands/. bin/dev.js reads it from here through tsx.
 */
import Config from '../commands/config.js'
import Diff from '../commands/diff.js'
import Doctor from '../commands/doctor.js'
import Errors from '../commands/errors.js'
import Fsck from '../commands/fsck.js'
import Generate from '../commands/generate.js'
import Init from '../commands/init.js'
import List from '../commands/list.js'
import Publish from '../commands/publish.js'
import PythonSetup from '../commands/python/setup.js'
import Releases from '../commands/releases.js'
import Rollback from '../commands/rollback.js'
import Runs from '../commands/runs.js'
import Schema from '../commands/schema.js'
import Trigger from '../commands/trigger.js'
import Validate from '../commands/validate.js'

export const COMMANDS = {
  config: Config,
  diff: Diff,
  doctor: Doctor,
  errors: Errors,
  fsck: Fsck,
  generate: Generate,
  init: Init,
  list: List,
  publish: Publish,
  'python:setup': PythonSetup,
  releases: Releases,
  rollback: Rollback,
  runs: Runs,
  schema: Schema,
  trigger: Trigger,
  validate: Validate,
}
