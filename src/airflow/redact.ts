/**
 * Keeps known secret values (password, token, the Basic credentials, an access token Airflow
 * handed out) out of every string dagctl prints, logs or writes: error messages, --verbose lines,
 * dead letters. Belt and braces: headers are never logged in the first place.
 */
export class SecretScrubber {
  private readonly secrets = new Set<string>()

  constructor(values: Array<string | undefined> = []) {
    for (const v of values) this.add(v)
  }

  /** Remembers a secret; very short values are ignored (they would blank out ordinary words). */
  add(value: string | undefined): void {
    if (value === undefined || value.length < 4) return
    this.secrets.add(value)
    // Basic auth and URL-encoded forms carry the same secret in another spelling.
    this.secrets.add(encodeURIComponent(value))
  }

  scrub(text: string): string {
    let out = text
    // longest first, so a secret that contains another is replaced whole
    for (const s of [...this.secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join('********')
    return out
  }

  /** Deep copy with every string scrubbed. */
  scrubValue<T>(value: T): T {
    if (typeof value === 'string') return this.scrub(value) as T
    if (Array.isArray(value)) return value.map((v) => this.scrubValue(v)) as T
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.scrubValue(v)])) as T
    }
    return value
  }
}

/** A URL without user:password@, query or fragment: safe to print. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url)
    u.username = ''
    u.password = ''
    u.search = ''
    u.hash = ''
    return u.toString().replace(/\/$/, '')
  } catch {
    return '<invalid url>'
  }
}
