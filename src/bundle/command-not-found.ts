// The hook as an entry of the bundle (scripts/bundle.mjs), at the path package.json names.
export {default} from '../hooks/command-not-found.js'
