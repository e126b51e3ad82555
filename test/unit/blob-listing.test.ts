import {describe, expect, it} from 'vitest'

import {listingBlobsPays} from '../../src/release/publish.js'

describe('when a publish lists the blobs prefix before uploading', () => {
  it('only when the listing (1,000 keys a page) costs fewer round trips than the uploads it may save', () => {
    // one round of 32 parallel uploads: re-sending costs no more than a listing
    expect(listingBlobsPays(10, 990)).toBe(false)
    expect(listingBlobsPays(32, 0)).toBe(false)
    // a first upload of 1,000 files, or 300 changed files of a 1,000-file package
    expect(listingBlobsPays(1000, 0)).toBe(true)
    expect(listingBlobsPays(300, 1000)).toBe(true)
    // a huge history: too many pages for 40 uploads
    expect(listingBlobsPays(40, 50_000)).toBe(false)
  })
})
