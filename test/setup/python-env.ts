// The tests' Python peers use the same cached-venv mechanism that `dagctl python setup` ships.
export {ensureAirflowEnv, ensureVenv} from '../../src/python/venv.js'
