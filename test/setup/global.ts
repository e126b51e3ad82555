import path from 'node:path'
import type {TestProject} from 'vitest/node'

import {ensureVenv} from './python-env.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** python with the test peers installed (moto server, ...) */
    testPython: string
  }
}

/** Runs once before the suite: installs what the tests' real peers need, cached outside the repo. */
export default function setup(project: TestProject): void {
  const root = path.resolve(import.meta.dirname, '..', '..')
  project.provide('testPython', ensureVenv(path.join(root, 'test', 'requirements.txt'), 'test'))
}
