import path from 'node:path'

import type {PublishOptions} from '../../src/release/publish.js'
import type {Store} from '../../src/store/index.js'
import {tempDir} from './tmp.js'

/**
 * The publish options the store-level tests (src/release called directly, no CLI) start from:
 * package team_a in dev, the package's `dags/` folder, no validation, fixed metadata instead of git
 * and CI variables. Each test file overrides what it is about.
 */
export function publishOptions(store: Store, root: string, extra: Partial<PublishOptions> = {}): PublishOptions {
  return {
    store,
    env: 'dev',
    pkg: 'team_a',
    root,
    dagsDir: path.join(root, 'dags'),
    extensions: [],
    validate: false,
    validateOptions: {airflowVersion: 3, engine: 'ast'},
    allowMassRemoval: false,
    metadata: {author: 'tester', git: {}, dagctlVersion: '0.0.0-test'},
    ...extra,
  }
}

/** A package team_a whose `dags/` holds `files` (paths relative to dags/). */
export function packageDir(files: Record<string, string>): string {
  return tempDir({'dagctl.yaml': 'package: team_a\n', ...Object.fromEntries(Object.entries(files).map(([k, v]) => [`dags/${k}`, v]))})
}
