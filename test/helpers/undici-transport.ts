import {type Dispatcher, request} from 'undici'

import type {HttpTransport} from '../../src/airflow/http.js'

/** The Airflow client's HTTP edge over an undici dispatcher: unit tests give it a MockAgent (one edge, mocked). */
export function undiciTransport(dispatcher: Dispatcher): HttpTransport {
  return {
    async send(req) {
      const res = await request(req.url, {method: req.method as Dispatcher.HttpMethod, headers: req.headers, body: req.body, dispatcher, headersTimeout: req.timeoutMs, bodyTimeout: req.timeoutMs})
      return {status: res.statusCode, headers: res.headers, text: await res.body.text()}
    },
    async close() {},
  }
}
