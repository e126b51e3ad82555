import {describe, expect, it} from 'vitest'

import {generatedHeader, generatedSource, generatedSources} from '../../src/render/header.js'
import {dagSegments, groupDags, parseLayout, renderMultiDagFile} from '../../src/render/layout.js'

const dag = (id: string, source = `specs/${id}.yaml`, line?: number) => ({
  dagId: id,
  source,
  ...(line === undefined ? {} : {line}),
  content: `${generatedHeader(source, line)}from airflow.sdk import DAG\n\ndag = DAG(dag_id=${JSON.stringify(id)})\n`,
})

describe('generate.layout', () => {
  it('parses dag, package and batch:N', () => {
    expect(parseLayout('dag')).toEqual({kind: 'dag'})
    expect(parseLayout('package')).toEqual({kind: 'package'})
    expect(parseLayout('batch:25')).toEqual({kind: 'batch', size: 25})
    expect(() => parseLayout('batch:0')).toThrow(/generate.layout/)
  })

  it('groups by DAG id, whatever order the specs came in; batch files are numbered and cannot be DAG files', () => {
    const dags = ['team_a_c', 'team_a_a', 'team_a_b'].map((id) => dag(id))
    expect(groupDags({kind: 'dag'}, 'team_a', dags).map((g) => g.name)).toEqual(['team_a_a.py', 'team_a_b.py', 'team_a_c.py'])
    expect(groupDags({kind: 'package'}, 'team_a', dags).map((g) => [g.name, g.dags.map((d) => d.dagId)])).toEqual([['team_a.py', ['team_a_a', 'team_a_b', 'team_a_c']]])
    expect(groupDags({kind: 'batch', size: 2}, 'team_a', dags).map((g) => [g.name, g.dags.map((d) => d.dagId)])).toEqual([
      ['team_a-batch-001.py', ['team_a_a', 'team_a_b']],
      ['team_a-batch-002.py', ['team_a_c']],
    ])
    expect(groupDags({kind: 'package'}, 'team_a', [])).toEqual([])
  })

  it('a multi-DAG file maps every DAG to its spec (with the line of a job file), and its segments split per DAG', () => {
    const text = renderMultiDagFile({kind: 'package'}, [dag('team_a_a'), dag('team_a_job', 'jobs/x.py', 7)])
    expect(text.split('\n')[0]).toBe('# dagctl:generated layout=package dags=2')
    expect(generatedSources(text)).toEqual([
      {dagId: 'team_a_a', source: 'specs/team_a_a.yaml'},
      {dagId: 'team_a_job', source: 'jobs/x.py', line: 7},
    ])
    expect(generatedSource(text)).toBe('specs/team_a_a.yaml, jobs/x.py')
    const segments = dagSegments(text)
    expect([...segments.keys()]).toEqual(['team_a_a', 'team_a_job'])
    expect(segments.get('team_a_a')).toContain('    dag = DAG(dag_id="team_a_a")\n    return dag')
    // the loader is no DAG's segment
    expect(segments.get('team_a_job')).not.toContain('_dagctl_load')
    // the ids and specs reach Python as literals, never as pasted text
    expect(text).toContain('    ("team_a_job", "jobs/x.py", _dagctl_dag_2),')
  })

  it('a one-DAG file and a hand-written file read as before', () => {
    expect(generatedSources(dag('team_a_a').content)).toEqual([{source: 'specs/team_a_a.yaml'}])
    expect(generatedSources('print("mine")\n')).toBeUndefined()
    expect(generatedSources('# dagctl:generatedx\n')).toBeUndefined()
  })
})
