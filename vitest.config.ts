import {defineConfig} from 'vitest/config'

import {budget} from './test/helpers/budget.js'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/global.ts'],
    pool: 'forks',
    // 120 s on a quiet machine, scaled by DAGCTL_TEST_TIME_SCALE or the load (test/helpers/budget.ts)
    testTimeout: budget(120_000),
    hookTimeout: 600_000,
    // Contract tests start real servers (moto, Airflow) on loopback; two cores, so keep it modest.
    maxWorkers: 2,
    // JUnit for GitLab's test report (reports/ is ignored by git).
    reporters: ['default', ['junit', {outputFile: 'reports/junit.xml'}]],
  },
})
