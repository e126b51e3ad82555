import {readFileSync} from 'node:fs'
import path from 'node:path'
import {describe, expect, it} from 'vitest'

import {eventCorrelationId, parseEvent} from '../../src/airflow/event.js'
import {loadMapping, mapEvent} from '../../src/airflow/mapping.js'
import {runIdFor} from '../../src/airflow/trigger.js'
import {ConfigError, DagctlError} from '../../src/errors.js'
import {REPO_ROOT} from '../helpers/cli.js'
import {tempDir} from '../helpers/tmp.js'

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'datahub')
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name), 'utf8')

function mappingFile(text: string): string {
  return path.join(tempDir({'mapping.yaml': text}), 'mapping.yaml')
}

describe('DataHub events', () => {
  it('reads an entity change event, a PlatformEvent wrapping one, and an Action envelope', () => {
    const plain = parseEvent(fixture('entity-change-event-tag-added-datahub-cloud.json'), 'a')
    const platform = parseEvent(fixture('platform-event-entity-change-event-tag-added.json'), 'b')
    const envelope = parseEvent(fixture('event-envelope-entity-change-event-tag-added.json'), 'c')
    expect([plain.form, platform.form, envelope.form]).toEqual(['entity_change_event', 'platform_event', 'event_envelope'])
    expect(platform.event).toEqual(plain.event)
    expect(envelope.event).toEqual(plain.event)
    // the same change, however it arrives, is the same correlation id: one run
    const ids = new Set([plain, platform, envelope].map((p) => eventCorrelationId(p.event)))
    expect(ids.size).toBe(1)
  })

  it('a missing version counts as 0; any other difference is another change', () => {
    const base = JSON.parse(fixture('entity-change-event-tag-added.json'))
    const id = eventCorrelationId(base)
    expect(eventCorrelationId({...base, version: 0})).toBe(id)
    expect(eventCorrelationId({...base, version: 1})).not.toBe(id)
    expect(eventCorrelationId({...base, operation: 'REMOVE'})).not.toBe(id)
    expect(eventCorrelationId({...base, auditStamp: {...base.auditStamp, time: base.auditStamp.time + 1}})).not.toBe(id)
    expect(eventCorrelationId({...base, modifier: 'urn:li:tag:other'})).not.toBe(id)
    // and the run id derived from it is a valid Airflow run id, stable
    expect(runIdFor({correlationId: id})).toMatch(/^dagctl__[0-9a-f]{32}$/)
    expect(runIdFor({correlationId: id})).toBe(runIdFor({correlationId: id}))
  })

  it('refuses what is not an entity change event (exit 2)', () => {
    const cases = ['not json', '[]', '{"entityType": "dataset"}', fixture('metadata-change-log-tag-change.json'), '{"event_type": "MetadataChangeLogEvent_v1", "event": {}, "meta": {}}', '{"name": "entityChangeEvent", "payload": {"value": "{oops"}}']
    for (const text of cases) {
      const error = (() => {
        try {
          parseEvent(text, 'x.json')
        } catch (e) {
          return e
        }
      })()
      expect(error, text).toBeInstanceOf(DagctlError)
      expect((error as DagctlError).exitCode).toBe(2)
    }
  })
})

const MAPPING = `rules:
  - name: pii-tag
    match:
      entityType: dataset
      category: TAG
      operation: [ADD, REMOVE]
      entityUrn: "urn:li:dataset:*"
      parameters:
        tagUrn: "urn:li:tag:PII"
    dag_id: team_a_pii_scan
    unpause: true
    note: "DataHub \${event.category} \${event.operation} by \${event.auditStamp.actor}"
    conf:
      urn: \${event.entityUrn}
      time: \${event.auditStamp.time}
      params: \${event.parameters}
      literal: "costs $\${5}"
      list: ["\${event.operation}", 1]
      version: \${event.version}
      id: \${correlation_id}
  - match:
      category: TAG
      modifier: "urn:li:tag:P?I"
    dag_id: team_a_all_tags
  - match:
      entityUrn: "urn:li:dataset:(urn:li:dataPlatform:snowflake,*"
    dag_id: team_a_snowflake
`

describe('mapping files', () => {
  it('maps an event to every matching rule with a typed, templated conf', () => {
    const mapping = loadMapping(mappingFile(MAPPING))
    const {event} = parseEvent(fixture('entity-change-event-tag-added.json'), 'e')
    const id = eventCorrelationId(event)
    const mapped = mapEvent(mapping, event, id)
    expect(mapped.map((m) => [m.rule, m.dagId])).toEqual([
      ['pii-tag', 'team_a_pii_scan'],
      ['rules[1]', 'team_a_all_tags'],
    ])
    expect(mapped[0]).toMatchObject({
      unpause: true,
      note: 'DataHub TAG ADD by urn:li:corpuser:jdoe',
      conf: {urn: 'urn:li:dataset:abc', time: 1649953100653, params: {tagUrn: 'urn:li:tag:PII'}, literal: 'costs ${5}', list: ['ADD', 1], version: 0, id},
    })
    expect(mapped[1].conf).toEqual({})
  })

  it('matches globs across : / , ( ) and lists, and requires named parameters', () => {
    const mapping = loadMapping(mappingFile(MAPPING))
    const cloud = parseEvent(fixture('entity-change-event-tag-added-datahub-cloud.json'), 'e').event
    expect(mapEvent(mapping, cloud, 'x').map((m) => m.dagId)).toEqual(['team_a_snowflake'])
    const removed = parseEvent(fixture('entity-change-event-tag-removed.json'), 'e').event
    expect(mapEvent(mapping, removed, 'x').map((m) => m.dagId)).toEqual(['team_a_pii_scan', 'team_a_all_tags'])
    const deleted = parseEvent(fixture('entity-change-event-soft-delete.json'), 'e').event
    expect(mapEvent(mapping, deleted, 'x')).toEqual([])
  })

  it('a placeholder the event lacks is an error at the rule\'s line', () => {
    const file = mappingFile('rules:\n  - match:\n      category: LIFECYCLE\n    dag_id: team_a_x\n    conf:\n      tag: ${event.parameters.tagUrn}\n')
    const mapping = loadMapping(file)
    const event = parseEvent(fixture('entity-change-event-soft-delete.json'), 'e').event
    expect(() => mapEvent(mapping, event, 'x')).toThrow(ConfigError)
    try {
      mapEvent(mapping, event, 'x')
    } catch (error) {
      expect((error as ConfigError).location).toMatchObject({file, line: 6, key: 'rules[0].conf.tag'})
    }
  })

  it.each([
    ['an unknown key', 'rules:\n  - match:\n      categroy: TAG\n    dag_id: team_a_x\n', 3, 'rules[0].match.categroy'],
    ['a missing dag_id', 'rules:\n  - match:\n      category: TAG\n', 2, 'rules[0].dag_id'],
    ['an expression, not a field', 'rules:\n  - match: {}\n    dag_id: team_a_x\n    conf:\n      x: ${__import__("os").system("id")}\n', 5, 'rules[0].conf.x'],
    ['a function call', 'rules:\n  - match: {}\n    dag_id: team_a_x\n    conf:\n      x: "a ${event.entityUrn.toUpperCase()}"\n', 5, 'rules[0].conf.x'],
    ['no rules', 'rules: []\n', 1, 'rules'],
    ['bad YAML', 'rules:\n  - match: {\n', 3, undefined],
  ])('reports %s with file, line and key (exit 2)', (_what, text, line, key) => {
    const file = mappingFile(text)
    let error: ConfigError | undefined
    try {
      loadMapping(file)
    } catch (e) {
      error = e as ConfigError
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect(error!.exitCode).toBe(2)
    expect(error!.location.file).toBe(file)
    expect(error!.location.line).toBe(line)
    if (key) expect(error!.location.key).toBe(key)
  })
})
