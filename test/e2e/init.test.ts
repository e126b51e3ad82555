import {execFileSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {runCli} from '../helpers/cli.js'
import {tempDir} from '../helpers/tmp.js'

describe('dagctl init (built binary)', () => {
  it('starts a package in a new folder whose example generates valid Python out of the box', async () => {
    const dir = tempDir()
    const res = await runCli(['init', 'My-Team.Jobs', '--json'], {cwd: dir})
    expect(res.exitCode).toBe(0)
    const out = res.json()
    expect(out).toMatchObject({package: 'my_team_jobs', skipped: [], gitignoreUpdated: true, exampleDagId: 'my_team_jobs_daily_report'})
    expect(out.created).toEqual(['dags/', 'specs/', 'dags/generated/', 'dagctl.yaml', 'specs/daily_report.yaml', '.gitignore'])
    const root = path.join(dir, 'My-Team.Jobs')
    expect(readFileSync(path.join(root, '.gitignore'), 'utf8')).toMatch(/^\.dagctl\/$/m)

    const gen = await runCli(['generate', '--json'], {cwd: root})
    expect(gen.exitCode).toBe(0)
    const {dags} = gen.json()
    // a new package gets the loader layout, written into its dagctl.yaml (docs/specs.md#the-loader-layout)
    expect(readFileSync(path.join(root, 'dagctl.yaml'), 'utf8')).toMatch(/^generate:\n {2}layout: loader:250$/m)
    expect(gen.json().layout).toBe('loader:250')
    expect(dags).toEqual([{dagId: 'my_team_jobs_daily_report', file: 'dags/generated/my_team_jobs-loader-001.py', spec: 'specs/daily_report.yaml', tasks: 5}])
    const file = path.join(root, dags[0].file)
    const module = path.join(root, 'dags/generated/_dagctl/my_team_jobs-loader-001.py')
    execFileSync('python3', ['-m', 'py_compile', file, module])
    expect(readFileSync(file, 'utf8')).toContain('from airflow.sdk import DAG')
    const text = readFileSync(module, 'utf8')
    for (const operator of ['KubernetesPodOperator(', 'PythonOperator(', 'BashOperator(', 'EmptyOperator(']) expect(text).toContain(operator)
    expect(text).toContain('image="registry.example.com/my_team_jobs/jobs:latest"')
    expect(text).toContain('tasks["start"] >> tasks["extract"]')
  })

  it('beside an existing package: overwrites nothing, reports what it skipped, adds the .gitignore line once', async () => {
    const root = tempDir({
      'dagctl.yaml': 'package: orders\nimage: registry.example.com/orders/jobs:2\n',
      'specs/daily_report.yaml': 'name: mine\ntasks:\n  t: {type: empty}\n',
      'dags/hand_written.py': '# mine\n',
      '.gitignore': 'node_modules/',
    })
    const res = await runCli(['init', '--json'], {cwd: root})
    expect(res.exitCode).toBe(0)
    const out = res.json()
    expect(out).toMatchObject({package: 'orders', created: ['dags/generated/'], skipped: ['dagctl.yaml', 'specs/daily_report.yaml'], gitignoreUpdated: true})
    expect(readFileSync(path.join(root, 'dagctl.yaml'), 'utf8')).toBe('package: orders\nimage: registry.example.com/orders/jobs:2\n')
    expect(readFileSync(path.join(root, 'specs/daily_report.yaml'), 'utf8')).toBe('name: mine\ntasks:\n  t: {type: empty}\n')
    expect(readFileSync(path.join(root, 'dags/hand_written.py'), 'utf8')).toBe('# mine\n')
    expect(readFileSync(path.join(root, '.gitignore'), 'utf8')).toBe('node_modules/\n.dagctl/\n')

    const again = await runCli(['init'], {cwd: root})
    expect(again.exitCode).toBe(0)
    expect(again.stdout).toContain('skipped  dagctl.yaml (exists; left as it is)')
    expect(again.stdout).toContain('Package orders: 0 created, 2 skipped.')
    expect(readFileSync(path.join(root, '.gitignore'), 'utf8')).toBe('node_modules/\n.dagctl/\n')
  })

  it('targets Airflow 2 on request', async () => {
    const root = tempDir()
    expect((await runCli(['init', '--package', 'legacy', '--airflow', '2'], {cwd: root})).exitCode).toBe(0)
    expect((await runCli(['generate'], {cwd: root})).exitCode).toBe(0)
    const text = readFileSync(path.join(root, 'dags/generated/legacy-loader-001.py'), 'utf8')
    expect(text).toContain('from airflow import DAG')
    expect(text).toContain('from airflow.operators.python import PythonOperator')
  })

  it('refuses an invalid --package with exit 2 and writes nothing', async () => {
    const dir = tempDir()
    const res = await runCli(['init', 'x', '--package', 'Bad-Name', '--json'], {cwd: dir})
    expect(res.exitCode).toBe(2)
    expect(res.json().error.hint).toMatch(/--package bad_name/)
    expect(existsSync(path.join(dir, 'x'))).toBe(false)
  })
})
