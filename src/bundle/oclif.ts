// oclif itself as an entry of the bundle (scripts/bundle.mjs): bin/run.js starts it from here, so
// oclif, its dependencies and the commands share one copy read from a few files.
export {execute} from '@oclif/core'
